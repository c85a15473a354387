// Keras HDF5 weight files (keras.applications' *_weights_tf_dim_ordering_tf_kernels[_notop].h5,
// Model.save_weights(".h5"), and the "model_weights" group of a whole-model .h5 file).
//
// The layout (Keras legacy h5 format, save_weights_to_hdf5_group):
//   attribute layer_names   every layer of the model in order, fixed-length byte strings
//                           (split into layer_names0, layer_names1, ... when over 64 KiB)
//   attributes backend, keras_version (optional)
//   group <layer>           attribute weight_names (empty for layers without weights), and a
//                           dataset at each name, relative to the group ("<layer>/kernel:0")
// Weights per layer, in that order: Conv2D kernel (kh, kw, in, out) + bias (out); Dense kernel
// (in, units) + bias (units); BatchNormalization gamma, beta, moving_mean, moving_variance
// (gamma or beta absent when the layer was built with scale=False or center=False).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "graph/network.hpp"

namespace lockstep::keras {

// Fills net.params from the file for every Conv2d, Dense and BatchNorm layer of a network that
// has not been prepared (BatchNorm not yet folded), matching layers by name. Current
// keras.applications names are used as they are; legacy ResNet names (conv1, bn_conv1,
// res2a_branch2a, fc1000, ...) are mapped to them (keras/legacy_names.hpp). Kernels are
// converted to the network's layouts (OIHW; Dense [units][in] with `in` permuted from the
// NHWC flatten order to NCHW where the flattened input has h*w > 1).
// Throws std::runtime_error naming the file — and the layer, dataset and both shapes where
// they apply — when the file is missing or not HDF5, has no layer_names, lacks a layer the
// network needs (a _notop file for a network with a classifier), has a layer with weights the
// network lacks, or has a dataset of the wrong shape or type (float32 is read; float64 is
// rounded to float32 with a note; anything else is refused). net.params is changed only when
// the whole file loaded. Notes (float64 rounded, BatchNorm without gamma/beta given 1/0) go
// to `notes`, or to stderr when it is null.
//
// The file is untrusted: libhdf5 1.10.8 (Debian 12) corrupts memory, loops or asks for 8 GB on
// crafted files (fuzz/README.md). So it is parsed in a child process (fork) with limits on its
// address space and CPU time; the parameters come back over a pipe, are checked against the
// network's own shapes, and only then replace net.params. A child killed by a signal, over its
// limits, or exiting without an answer becomes "keras weights 'F': the HDF5 library failed on
// this file (corrupt or malicious)" with the reason. An interrupt (SIGINT) kills the child and
// throws interrupt::Interrupted.
struct LoadOptions {
  bool isolate = true;          // false: parse in this process (trusted files only)
  uint32_t cpu_seconds = 0;     // the child's CPU limit; 0: 30 s + 1 s per 8 MiB of file
  uint64_t memory_bytes = 0;    // address space the child may add to the parent's; 0: 2 GiB + 3 x file
  uint32_t wall_seconds = 0;    // the parent's wait for the answer; 0: 3 x the CPU limit + 10 s
  // Called in the child when it starts and just before it exits, and in the parent once the
  // child is reaped: the fuzz target forwards its coverage counters with them.
  void (*child_start_hook)(void*) = nullptr;
  void (*child_exit_hook)(void*) = nullptr;
  void (*parent_hook)(void*) = nullptr;
  void* hook_data = nullptr;
};
void load_keras_weights(graph::Network& net, const std::string& path, std::vector<std::string>* notes = nullptr);
void load_keras_weights(graph::Network& net, const std::string& path, std::vector<std::string>* notes,
                        const LoadOptions& options);

struct SaveOptions {
  bool old_resnet_names = false;  // write conv1, bn_conv1, res2a_branch2a, ..., fc1000
  bool whole_model = false;       // put the weights in a "model_weights" group, as Model.save does
};

// Writes net.params in the layout above, as Keras 2.15 (TensorFlow backend) and h5py write it:
// every layer listed (parameter-less ones with an empty weight_names), float32 little-endian
// datasets named "<layer>/kernel:0", ..., backend "tensorflow", keras_version "2.15.0". The
// file is written next to `path` and renamed over it when complete. A whole-model file has no
// model_config: Keras' load_weights reads it, its load_model does not.
void save_keras_weights(const graph::Network& net, const std::string& path, const SaveOptions& options);
void save_keras_weights(const graph::Network& net, const std::string& path, bool old_resnet_names = false);

namespace detail {
// The parser itself, in this process: fills `loaded` (parameter name -> values, as they go into
// net.params) and `notes`; net.params is not touched. `lock_hdf5` false only in the child.
void load_keras_weights_in_process(graph::Network& net, const std::string& path, bool lock_hdf5,
                                   std::map<std::string, std::vector<float>>& loaded,
                                   std::vector<std::string>& notes);
}  // namespace detail

}  // namespace lockstep::keras
