// ONNX export of a network, laid out as torch.onnx.export writes a torchvision model: Conv
// (pads, strides, kernel_shape), BatchNormalization and Relu as separate nodes, Add,
// MaxPool/AveragePool, GlobalAveragePool, Flatten before Gemm (transB 1, weight [units][in]),
// Softmax, Dropout; parameters as float32 raw_data initializers named "<layer>.<role>"; a
// symbolic batch "N". Works on a network before or after graph::prepare (a fused ReLU becomes a
// Relu node). Opsets 11 to 17 (Softmax and Dropout are written for the opset's semantics).
// Throws std::invalid_argument for a network it cannot express (bad shapes, missing
// parameters, a convolution or pool after a dense layer) and std::runtime_error when writing fails.
#pragma once
#include <string>

#include "graph/network.hpp"

namespace onnx {
class ModelProto;
}

namespace lockstep::onnx {

::onnx::ModelProto export_onnx(const graph::Network& net, int opset = 13);
void save_onnx(const graph::Network& net, const std::string& path, int opset = 13);

}  // namespace lockstep::onnx
