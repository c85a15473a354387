// ONNX import: a VGG- or ResNet-shaped graph, as torch.onnx.export or tf2onnx write it, into
// the network IR (graph/network.hpp). Needs no ONNX headers to call (the ModelProto overload
// needs <onnx/onnx_pb.h> and the onnx_proto target at the call site).
//
// Accepted (opsets 1 to 21, default domain only; every attribute of an accepted op is checked,
// an unknown one is an error):
//   input      exactly one graph input that is not an initializer: float32 [N, C, H, W], N fixed
//              or symbolic (the batch is chosen when the network runs), C/H/W fixed and positive
//              (symbolic H/W only with ImportOptions::input_height/width).
//   Conv       2-D, weight an initializer/Constant [O][C][kh][kw], optional bias [O]; pads
//              [top, left, bottom, right], strides, kernel_shape (must match the weight),
//              auto_pad NOTSET/VALID/SAME_UPPER/SAME_LOWER; dilations 1 and group 1 only.
//   Gemm       A a 2-D activation, B constant, transA 0, transB 0 (transposed to [units][in])
//              or 1, alpha 1, beta 1 (any beta without C); C constant with `units` values
//              ([units], [1, units], or a scalar broadcast).
//   MatMul     2-D activation x constant [in][units]; an Add of a constant [units] that follows
//              it (and is its only reader) becomes its bias. The same for an Add of [C,1,1]
//              after a Conv without bias.
//   MaxPool / AveragePool   2-D, kernel_shape, strides, pads, auto_pad as Conv; dilations 1,
//              storage_order 0, ceil_mode 0 (or 1 where it gives the same output size);
//              AveragePool count_include_pad 0/1. Only the first output (no Indices).
//   GlobalAveragePool, Relu, Identity (an alias), Dropout (identity at inference; p from the
//              ratio input or attribute, default 0.5; training_mode must be absent or false;
//              the mask output must be unused).
//   BatchNormalization  inference form (training_mode 0, spatial 1), constants [C]. After a
//              Conv read by nothing else it becomes a BatchNorm layer (folded into the Conv by
//              graph::prepare); elsewhere a 1x1 Conv with a diagonal weight gamma/sqrt(var+eps)
//              and bias beta - mean*scale (both in float64, rounded once). epsilon (a float32
//              attribute) is read as the shortest decimal that rounds to it (1e-5, 1.001e-5),
//              i.e. the value the model's author wrote, so folding matches the framework's.
//   Add        two activations of the same shape (no broadcasting), or a bias as above.
//   Flatten    axis 1 (or any axis where every per-sample dimension before it is 1); axis 0
//              and axes that fold features into the batch are refused.
//   Reshape    only a flatten: a constant int64 shape [a, b] with a = 0, -1 or the model's fixed
//              batch, b = -1, 0 or the per-sample element count (allowzero 0).
//   Softmax    over all per-sample elements: opset < 13 axis (default 1) must be 1 or leave only
//              size-1 per-sample dimensions before it; opset >= 13 axis (default -1) must be the
//              only per-sample dimension larger than 1. Never over the batch (axis 0).
//   Constant   value (float32 or int64 tensor), value_float(s), value_int(s).
//   output     exactly one graph output; layers it does not depend on are dropped.
//   Before opset 7, Dropout and BatchNormalization need is_test 1 (their default was training).
// Anything else throws std::runtime_error naming the file, the node (index, name) and the op,
// and what is supported. Bad files (missing, empty, another format, truncated or corrupt,
// tensors whose data does not match their dims, absurd dims) throw std::runtime_error naming
// the file and what is wrong.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "graph/network.hpp"

namespace onnx {
class ModelProto;
}

namespace lockstep::onnx {

struct ImportOptions {
  // Used only where the model's input height/width are symbolic (fully convolutional exports);
  // 0: a symbolic height/width is an error.
  uint32_t input_height = 0, input_width = 0;
};

// Layer names are the node names (or, when empty, the first output's), with every character
// other than [A-Za-z0-9_] replaced by '_' and a numeric suffix where needed to be unique.
// Runs infer_shapes() and check_params() before returning; the network is not prepared.
graph::Network import_onnx(const std::string& path, const ImportOptions& options = {});
// From a model in memory; `source` names it in error messages.
graph::Network import_onnx(const ::onnx::ModelProto& model, const std::string& source = "<memory>",
                           const ImportOptions& options = {});
// From serialized bytes (a whole .onnx file's contents).
graph::Network import_onnx_bytes(std::string_view bytes, const std::string& source = "<memory>",
                                 const ImportOptions& options = {});

}  // namespace lockstep::onnx
