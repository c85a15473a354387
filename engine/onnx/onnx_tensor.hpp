// ONNX TensorProtos in and out, every size checked before anything is allocated. Used by the
// importer (initializers, Constant nodes), the exporter, and tests that read the ONNX
// conformance data (test_data_set_*/input_*.pb). Needs the ONNX headers (target onnx_proto).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace lockstep::onnx {

// A tensor's dims and values: float32 in `f`; INT64, INT32, BOOL (and the other integer types)
// widened to int64 in `i`; any other type keeps only its dims and type (callers reject it).
struct TensorData {
  int32_t dtype = 0;  // ::onnx::TensorProto::DataType
  std::vector<int64_t> dims;
  uint64_t count = 0;  // product of dims
  std::vector<float> f;
  std::vector<int64_t> i;

  bool is_float() const { return dtype == ::onnx::TensorProto::FLOAT; }
  bool is_integer() const;
};

// "FLOAT", "INT64", ... ("type 42" for an unknown value).
std::string dtype_name(int32_t dtype);

// Reads a tensor. `byte_limit` (0: none) is the size of the file it came from: a tensor that
// claims more data than that is rejected before allocating. Throws std::runtime_error saying
// what is wrong (negative or overflowing dims, data size not matching dims, external data);
// the caller adds the file and tensor names.
TensorData read_tensor(const ::onnx::TensorProto& t, uint64_t byte_limit = 0);

// Fills `t` with a float32 tensor stored as raw_data (little-endian), as torch.onnx.export does.
void set_float_tensor(::onnx::TensorProto& t, const std::string& name, const std::vector<int64_t>& dims,
                      std::span<const float> values);

}  // namespace lockstep::onnx
