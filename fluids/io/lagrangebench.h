#pragma once
// LagrangeBench's dataset layout (github.com/tumaer/lagrangebench; see
// docs/datasets_and_metrics.md): a folder with metadata.json and train.h5, valid.h5, test.h5;
// each .h5 file holds one group per trajectory ("00000", "00001", ...) with
//   position       [T, N, dim] float (float32; float64 is converted on reading)
//   particle_type  [N] integer
// Reading and writing go through the HDF5 C library; metadata.json through yaml-cpp (JSON is
// YAML 1.2 flow style).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace lagrad {

struct LagrangeBenchMetadata {
  std::string case_name;  // "case" (e.g. "TGV"); empty if absent
  int dim = 0;
  double dt = 0.0;        // the solver's step; frames are write_every steps apart
  int write_every = 1;
  double dx = 0.0;        // initial particle spacing (0 if absent)
  std::vector<std::array<double, 2>> bounds;         // [dim] x {lo, hi}
  std::vector<bool> periodic_boundary_conditions;     // [dim]
  double default_connectivity_radius = 0.0;
  std::vector<double> vel_mean, vel_std, acc_mean, acc_std;  // [dim] each
  int sequence_length_train = 0, sequence_length_test = 0;    // 0 if absent
  int num_particles_max = 0;                                  // 0 if absent
  std::string solver;  // "solver"; empty if absent

  // The box lengths when every dimension is periodic, else empty (the form the metrics take).
  std::vector<double> periodic_box() const;
  // dt * write_every: the time between two stored frames.
  double frame_dt() const { return dt * write_every; }
};

// Throws std::runtime_error naming the file and the key for a missing or malformed entry.
LagrangeBenchMetadata read_lagrangebench_metadata(const std::string& path);
void write_lagrangebench_metadata(const std::string& path, const LagrangeBenchMetadata& metadata);

struct LagrangeBenchTrajectory {
  std::string name;  // the group's name
  std::int64_t frames = 0, particles = 0;
  int dim = 0;
  std::vector<float> position;             // [frames, particles, dim]
  std::vector<std::int32_t> particle_type;  // [particles]

  // Frame t as a flat [particles, dim] array.
  std::vector<float> frame(std::int64_t t) const;
};

// The trajectory groups of an .h5 file, sorted by name.
std::vector<std::string> lagrangebench_trajectory_names(const std::string& path);
// Throws std::runtime_error naming file, group and the shapes found for a missing dataset, a
// wrong rank, a particle_type whose length is not N, or a non-numeric type.
LagrangeBenchTrajectory read_lagrangebench_trajectory(const std::string& path, const std::string& name);
std::vector<LagrangeBenchTrajectory> read_lagrangebench_file(const std::string& path);
// Writes (replaces) an .h5 file with one group per trajectory, in the layout above.
void write_lagrangebench_file(const std::string& path, const std::vector<LagrangeBenchTrajectory>& trajectories);
// "00007" for trajectory 7 (LagrangeBench's group names).
std::string lagrangebench_trajectory_name(int index);

// ---- LagrangeBench trajectories as DLF sequences, for DatasetStream and SequenceReader.
// A source "FOLDER/train.h5#00003" names one trajectory; the streams accept such sources in
// their file lists (every random choice and the determinism guarantee stay theirs).

// "FOLDER/SPLIT.h5#NAME" for every trajectory of FOLDER/SPLIT.h5, sorted.
std::vector<std::string> lagrangebench_split_sources(const std::string& folder, const std::string& split);
// Whether `source` has the "....h5#NAME" form; splits it when it has.
bool split_lagrangebench_source(const std::string& source, std::string* h5_path, std::string* name);

struct Sequence;
// The trajectory as a Sequence: frames with pos (2D data padded with z = 0), vel = the
// minimum-image displacement from the previous frame over metadata frame_dt (frame 0: the
// displacement to frame 1), mass 1, viscosity 0, frame_id = index, scene_id = "SPLIT/NAME"; no
// boundary particles. metadata.json is read from the .h5 file's folder.
Sequence read_lagrangebench_sequence(const std::string& source);

}  // namespace lagrad
