#pragma once
// The dam-break validation case (Martin & Moyce 1952): a water column of width a and height
// n^2 a (square: n = 1) in the corner of a long tank collapses; the surge front's distance z
// from the back wall is tracked over time. The tank is a thin slab in z (free-slip side walls), so
// the flow is close to the experiment's two-dimensional one.
#include <vector>

#include "dfsph_solver.h"

namespace lagrad::sph {

struct DamBreakOptions {
  int column_particles = 20;     // width a = column_particles * 2r
  int height_particles = 0;      // column height in particles; 0: square (= column_particles)
  int depth_particles = 6;       // slab thickness in particles
  float tank_length = 6.0f;      // in units of a
  double end_time = 3.6;         // in units of sqrt(a / (2 g)), i.e. up to T = 3.6
  double sample_interval = 0.005;  // seconds between samples
  DfsphOptions solver = DfsphOptions{}.set_viscosity(0.0f);

  void validate() const;  // throws std::invalid_argument naming the field and the value
};

struct DamBreakSample {
  double t = 0;  // seconds
  double T = 0;  // t * sqrt(2 g / a)
  double Z = 0;  // front distance from the back wall / a
};

// Runs the case; the first sample is t = 0 (Z = 1 by construction).
std::vector<DamBreakSample> run_dam_break(const DamBreakOptions& options);

}  // namespace lagrad::sph
