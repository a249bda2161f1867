#include "layers/cconv_options.h"

#include <stdexcept>

namespace lagrad {

CoordinateMapping parse_coordinate_mapping(const std::string& s) {
  if (s == "ball_to_cube_radial") return CoordinateMapping::BallToCubeRadial;
  if (s == "ball_to_cube_volume_preserving") return CoordinateMapping::BallToCubeVolumePreserving;
  if (s == "identity") return CoordinateMapping::Identity;
  throw std::invalid_argument("coordinate_mapping: unknown value '" + s +
                              "' (expected 'ball_to_cube_radial', 'ball_to_cube_volume_preserving' or 'identity')");
}

Interpolation parse_interpolation(const std::string& s) {
  if (s == "linear") return Interpolation::Linear;
  if (s == "linear_border") return Interpolation::LinearBorder;
  if (s == "nearest_neighbor") return Interpolation::NearestNeighbor;
  throw std::invalid_argument("interpolation: unknown value '" + s +
                              "' (expected 'linear', 'linear_border' or 'nearest_neighbor')");
}

std::string to_string(CoordinateMapping m) {
  switch (m) {
    case CoordinateMapping::BallToCubeRadial: return "ball_to_cube_radial";
    case CoordinateMapping::BallToCubeVolumePreserving: return "ball_to_cube_volume_preserving";
    case CoordinateMapping::Identity: return "identity";
  }
  return "?";
}

std::string to_string(Interpolation i) {
  switch (i) {
    case Interpolation::Linear: return "linear";
    case Interpolation::LinearBorder: return "linear_border";
    case Interpolation::NearestNeighbor: return "nearest_neighbor";
  }
  return "?";
}

}  // namespace lagrad
