#pragma once
// Options shared by the ContinuousConv op, its kernels and the layers.
#include <string>

namespace lagrad {

enum class CoordinateMapping { BallToCubeRadial, BallToCubeVolumePreserving, Identity };
enum class Interpolation { Linear, LinearBorder, NearestNeighbor };

// Parse the Open3D option strings ('ball_to_cube_radial', 'ball_to_cube_volume_preserving',
// 'identity'; 'linear', 'linear_border', 'nearest_neighbor'). Unknown strings throw
// std::invalid_argument naming the option, the value and the choices.
CoordinateMapping parse_coordinate_mapping(const std::string& s);
Interpolation parse_interpolation(const std::string& s);
std::string to_string(CoordinateMapping m);
std::string to_string(Interpolation i);

struct CConvOpOptions {
  CoordinateMapping coordinate_mapping = CoordinateMapping::BallToCubeRadial;
  Interpolation interpolation = Interpolation::Linear;
  bool align_corners = true;
  bool normalize = false;
};

}  // namespace lagrad
