#include "onnx/onnx_tensor.hpp"

#include <bit>
#include <cstring>
#include <stdexcept>

namespace lockstep::onnx {

// raw_data is little-endian; copying it as-is is only right on a little-endian host.
static_assert(std::endian::native == std::endian::little, "ONNX raw_data is little-endian");

using ::onnx::TensorProto;

bool TensorData::is_integer() const {
  switch (dtype) {
    case TensorProto::INT64:
    case TensorProto::INT32:
    case TensorProto::INT16:
    case TensorProto::INT8:
    case TensorProto::UINT8:
    case TensorProto::UINT16:
    case TensorProto::BOOL: return true;
    default: return false;
  }
}

std::string dtype_name(int32_t dtype) {
  if (TensorProto::DataType_IsValid(dtype)) return TensorProto::DataType_Name(static_cast<TensorProto::DataType>(dtype));
  return "type " + std::to_string(dtype);
}

namespace {

// Bytes per element in raw_data for the types read here (0: not read).
uint32_t element_bytes(int32_t dtype) {
  switch (dtype) {
    case TensorProto::FLOAT:
    case TensorProto::INT32: return 4;
    case TensorProto::INT64: return 8;
    case TensorProto::INT16:
    case TensorProto::UINT16: return 2;
    case TensorProto::INT8:
    case TensorProto::UINT8:
    case TensorProto::BOOL: return 1;
    default: return 0;
  }
}

int64_t raw_integer(const char* p, int32_t dtype) {
  switch (dtype) {
    case TensorProto::INT64: { int64_t v; std::memcpy(&v, p, 8); return v; }
    case TensorProto::INT32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case TensorProto::INT16: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case TensorProto::UINT16: { uint16_t v; std::memcpy(&v, p, 2); return v; }
    case TensorProto::INT8: return static_cast<int8_t>(*p);
    default: return static_cast<uint8_t>(*p);  // UINT8, BOOL
  }
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

}  // namespace

TensorData read_tensor(const TensorProto& t, uint64_t byte_limit) {
  TensorData out;
  out.dtype = t.data_type();
  if (t.data_location() == TensorProto::EXTERNAL || t.external_data_size() > 0)
    fail("its data is stored in an external file, which is not supported (save the model as one file)");
  if (t.has_segment()) fail("it is segmented, which is not supported");
  uint64_t count = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) fail("dimension " + std::to_string(d) + " is negative");
    if (d != 0 && count > UINT64_MAX / uint64_t(d)) fail("its dimensions overflow a 64-bit element count");
    count *= uint64_t(d);
    out.dims.push_back(d);
  }
  out.count = count;
  const uint32_t eb = element_bytes(out.dtype);
  if (eb == 0) return out;  // a type not read here: the caller rejects it by name
  // Checked against the file size before allocating: a few corrupt bytes must not ask for 1 TB.
  if (byte_limit != 0 && count > byte_limit / eb)
    fail("its dimensions claim " + std::to_string(count) + " elements (" + std::to_string(count) + " x " +
         std::to_string(eb) + " bytes) but the file has only " + std::to_string(byte_limit) + " bytes");

  const std::string& raw = t.raw_data();
  const bool has_raw = t.has_raw_data();
  const int typed = out.dtype == TensorProto::FLOAT   ? t.float_data_size()
                    : out.dtype == TensorProto::INT64 ? t.int64_data_size()
                                                      : t.int32_data_size();
  if (has_raw && typed > 0) fail("it has both raw_data and typed data");
  const std::string where = has_raw ? "raw_data holds " + std::to_string(raw.size()) + " bytes"
                                    : "it holds " + std::to_string(typed) + " values";
  const std::string want = std::to_string(count) + " elements";
  if (has_raw ? raw.size() != count * eb : uint64_t(typed) != count)
    fail(where + " but its dimensions need " + want + (has_raw ? " of " + std::to_string(eb) + " bytes" : ""));

  if (out.dtype == TensorProto::FLOAT) {
    out.f.resize(count);
    if (has_raw) {
      if (count) std::memcpy(out.f.data(), raw.data(), count * 4);
    } else {
      std::copy(t.float_data().begin(), t.float_data().end(), out.f.begin());
    }
  } else {
    out.i.resize(count);
    for (uint64_t k = 0; k < count; ++k)
      out.i[k] = has_raw ? raw_integer(raw.data() + k * eb, out.dtype)
                 : out.dtype == TensorProto::INT64 ? t.int64_data(int(k))
                                                   : t.int32_data(int(k));
  }
  return out;
}

void set_float_tensor(TensorProto& t, const std::string& name, const std::vector<int64_t>& dims,
                      std::span<const float> values) {
  t.Clear();
  t.set_name(name);
  t.set_data_type(TensorProto::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size_bytes()));
}

}  // namespace lockstep::onnx
