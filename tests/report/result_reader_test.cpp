// Reading result files: round trip, and refusal of everything that is not an intact lockstep
// result file, each with a message that names the file and what is wrong.
#include <gtest/gtest.h>

#include <bit>

#include "report/result_reader.hpp"
#include "report_test_util.hpp"

namespace lockstep::report {
namespace {

using namespace test;

TEST(ResultReader, RoundTripIsBitExact) {
  ScratchDir dir;
  const std::string path = dir.path("a.safetensors");
  const auto tensors = sample_tensors();
  const auto meta = run_metadata();
  write_result(path, tensors, meta);

  const ResultFile r = read_result_file(path);
  EXPECT_EQ(r.path, path);
  for (const auto& [k, v] : meta) EXPECT_EQ(r.meta(k), v) << k;
  EXPECT_EQ(r.meta("no such key"), "");
  ASSERT_EQ(r.tensors.size(), tensors.size());
  for (const auto& t : tensors) {
    const Tensor* got = r.find(t.name);
    ASSERT_NE(got, nullptr) << t.name;
    EXPECT_EQ(got->shape, t.shape);
    ASSERT_EQ(got->data.size(), t.data.size());
    EXPECT_EQ(std::memcmp(got->data.data(), t.data.data(), t.data.size() * 4), 0) << t.name;
    EXPECT_EQ(got->xxh3_128, r.meta(t.name + ".xxh3_128"));
  }
  EXPECT_EQ(r.mode(), (NumericMode{Order::Fixed, MacContract::MulAdd, DenormRule::Preserve}));

  // Written again from what was read, and read again: the same bits.
  const std::string again = dir.path("b.safetensors");
  std::vector<io::ResultTensor> back;
  for (const auto& t : r.tensors) back.push_back({t.name, t.shape, t.data});
  io::write_safetensors(again, back, r.metadata);
  const ResultFile r2 = read_result_file(again);
  EXPECT_EQ(r2.metadata, r.metadata);
  ASSERT_EQ(r2.tensors.size(), r.tensors.size());
  for (size_t i = 0; i < r.tensors.size(); ++i) {
    EXPECT_EQ(r2.tensors[i].name, r.tensors[i].name);
    EXPECT_EQ(std::memcmp(r2.tensors[i].data.data(), r.tensors[i].data.data(), r.tensors[i].data.size() * 4), 0);
  }
}

TEST(ResultReader, TensorsComeInLayerOrder) {
  ScratchDir dir;
  const std::string path = dir.path("a.safetensors");
  write_result(path);
  const ResultFile r = read_result_file(path);
  std::vector<std::string> names;
  for (const auto& t : r.tensors) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"layer.0.conv1", "layer.1.conv1_relu", "layer.2.pool",
                                             "layer.10.predictions", "output"}));
  EXPECT_EQ(layer_index("layer.12.conv"), 12u);
  EXPECT_EQ(layer_index("layer.x.conv"), std::nullopt);
  EXPECT_EQ(layer_index("layer.12"), std::nullopt);
  EXPECT_EQ(layer_index("output"), std::nullopt);
  EXPECT_TRUE(tensor_order("layer.9.a", "layer.10.a"));
  EXPECT_TRUE(tensor_order("layer.10.a", "output"));
  EXPECT_TRUE(tensor_order("output", "extra"));
}

TEST(ResultReader, BytesAndFileAgree) {
  ScratchDir dir;
  const std::string path = dir.path("a.safetensors");
  write_result(path);
  const auto bytes = read_bytes(path);
  const ResultFile a = read_result_file(path);
  const ResultFile b = parse_result_bytes(bytes.data(), bytes.size(), "in-memory");
  EXPECT_EQ(b.path, "in-memory");
  EXPECT_EQ(a.metadata, b.metadata);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) EXPECT_EQ(a.tensors[i].xxh3_128, b.tensors[i].xxh3_128);
}

TEST(ResultReader, TamperedTensorIsRefusedNamingIt) {
  ScratchDir dir;
  const std::string good = dir.path("good.safetensors"), bad = dir.path("tampered.safetensors");
  write_result(good);
  flip_bit(good, bad, "layer.1.conv1_relu", 17, 3, /*update_fingerprint=*/false);
  const std::string msg = error_of([&] { read_result_file(bad); });
  EXPECT_MENTIONS(msg, "tampered.safetensors", "'layer.1.conv1_relu'", "fingerprint", "altered or damaged");
  // The other tensors are intact; the message names only the damaged one.
  EXPECT_EQ(msg.find("layer.0.conv1"), std::string::npos) << msg;
  // A tampered fingerprint (data intact) is refused the same way.
  auto bytes = read_bytes(good);
  const RawLayout l = raw_layout(bytes);
  const std::string h = l.header.at("__metadata__").at("output.xxh3_128").get<std::string>();
  std::string header(bytes.begin() + 8, bytes.begin() + 8 + std::ptrdiff_t(l.header_len));
  const size_t pos = header.find(h);
  header[pos] = header[pos] == '0' ? '1' : '0';
  std::copy(header.begin(), header.end(), bytes.begin() + 8);
  write_bytes(bad, bytes);
  EXPECT_MENTIONS(error_of([&] { read_result_file(bad); }), "'output'", "fingerprint");
}

TEST(ResultReader, TruncatedFilesAreRefused) {
  ScratchDir dir;
  const std::string good = dir.path("good.safetensors");
  write_result(good);
  const auto bytes = read_bytes(good);
  const RawLayout l = raw_layout(bytes);
  const std::string cut = dir.path("cut.safetensors");
  // Inside the length, inside the header, at the end of the header, inside the data, one byte short.
  for (size_t keep : {size_t(5), size_t(8), size_t(8 + l.header_len / 2), size_t(l.data_start()),
                      size_t(l.data_start() + 100), bytes.size() - 1}) {
    write_bytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + std::ptrdiff_t(keep)));
    const std::string msg = error_of([&] { read_result_file(cut); });
    EXPECT_MENTIONS(msg, "cut.safetensors");
    EXPECT_TRUE(msg.find("truncated") != std::string::npos || msg.find("too short") != std::string::npos)
        << "kept " << keep << " bytes: " << msg;
    EXPECT_MENTIONS(error_of([&] {
                      parse_result_bytes(bytes.data(), keep, "cut-in-memory");
                    }),
                    "cut-in-memory");
  }
}

TEST(ResultReader, EmptyFileIsRefused) {
  ScratchDir dir;
  const std::string path = dir.path("empty.safetensors");
  write_bytes(path, {});
  EXPECT_MENTIONS(error_of([&] { read_result_file(path); }), "empty.safetensors", "empty");
}

TEST(ResultReader, PngIsRefused) {
  ScratchDir dir;
  const std::string path = dir.path("cat.png");
  // A PNG signature, an IHDR chunk and an IEND chunk: a real (1x1) PNG's structure.
  const std::vector<uint8_t> png = {0x89, 'P',  'N',  'G',  '\r', '\n', 0x1a, '\n', 0,    0,    0,    13,   'I',
                                    'H',  'D',  'R',  0,    0,    0,    1,    0,    0,    0,    1,    8,    2,
                                    0,    0,    0,    0x90, 0x77, 0x53, 0xde, 0,    0,    0,    0,    'I',  'E',
                                    'N',  'D',  0xae, 0x42, 0x60, 0x82};
  write_bytes(path, png);
  EXPECT_MENTIONS(error_of([&] { read_result_file(path); }), "cat.png", "not a safetensors", "PNG");
}

TEST(ResultReader, TextFileIsRefused) {
  ScratchDir dir;
  const std::string path = dir.path("notes.txt");
  write_text(path, "These are my notes about the run on the AMD box.\nNothing to see here.\n");
  EXPECT_MENTIONS(error_of([&] { read_result_file(path); }), "notes.txt", "not a safetensors", "text");
  // A JSON document is not one either.
  write_text(path, "{\"format\": \"lockstep-result-1\"}");
  EXPECT_MENTIONS(error_of([&] { read_result_file(path); }), "notes.txt", "not a safetensors");
}

TEST(ResultReader, ForeignSafetensorsAreRefused) {
  ScratchDir dir;
  const std::string path = dir.path("model.safetensors");
  std::vector<io::ResultTensor> t = {{"weight", {2, 2}, {1, 2, 3, 4}}};
  io::write_safetensors(path, t, {});  // writes "__metadata__": {} ... an empty map
  EXPECT_MENTIONS(error_of([&] { read_result_file(path); }), "model.safetensors", "not a lockstep result file",
                  "format");
  // No "__metadata__" at all, as many safetensors files are.
  const std::vector<uint8_t> data(16, 0);
  write_bytes(path, safetensors_bytes(R"({"weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})", data));
  EXPECT_MENTIONS(error_of([&] { read_result_file(path); }), "model.safetensors", "not a lockstep result file");
  // Foreign metadata, and dtypes lockstep never writes: named foreign, not "bad dtype".
  write_bytes(path, safetensors_bytes(R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F16","shape":[8],"data_offsets":[0,16]}})", data));
  EXPECT_MENTIONS(error_of([&] { read_result_file(path); }), "model.safetensors", "not a lockstep result file",
                  "'pt'");
}

TEST(ResultReader, MissingLockstepMetadataIsNamed) {
  ScratchDir dir;
  const std::string path = dir.path("a.safetensors");
  for (const char* key : {"order", "model", "input.xxh3_128", "weights.xxh3_128", "preprocess"}) {
    write_result(path, {{key, "<erase>"}});
    EXPECT_MENTIONS(error_of([&] { read_result_file(path); }), "a.safetensors", key);
  }
  write_result(path, {{"order", "sideways"}});
  EXPECT_MENTIONS(error_of([&] { read_result_file(path); }), "sideways", "fixed, free");
  write_result(path, {{"contract", "fmac"}});
  EXPECT_MENTIONS(error_of([&] { read_result_file(path); }), "fmac");
  // A tensor without its fingerprint.
  auto meta = run_metadata();
  std::vector<io::ResultTensor> t = {{"output", {1, 2}, {1, 2}}};
  io::write_safetensors(path, t, meta);
  EXPECT_MENTIONS(error_of([&] { read_result_file(path); }), "'output'", "no fingerprint");
  meta["output.xxh3_128"] = "xyz";
  io::write_safetensors(path, t, meta);
  EXPECT_MENTIONS(error_of([&] { read_result_file(path); }), "'output'", "32 hex digits");
}

// Malformed headers: each refused with its reason, nothing allocated from the claimed sizes.
TEST(ResultReader, MalformedHeadersAreRefused) {
  ScratchDir dir;
  const std::string path = dir.path("bad.safetensors");
  const std::vector<uint8_t> data8(8, 0);
  std::string meta;
  for (const auto& [k, v] : run_metadata()) meta += (meta.empty() ? "" : ",") + nlohmann::json(k).dump() + ":" + nlohmann::json(v).dump();
  auto hdr = [&](const std::string& tensors, const std::string& extra_meta = "") {
    return "{\"__metadata__\":{" + meta + extra_meta + "}" + (tensors.empty() ? "" : "," + tensors) + "}";
  };
  const std::string fp = ",\"a.xxh3_128\":\"" + xxh3_128_hex(data8.data(), 8) + "\"";
  struct Case {
    std::string header;
    std::vector<uint8_t> data;
    std::vector<const char*> mentions;
  };
  const std::vector<Case> cases = {
      {hdr(R"("a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]})", fp), data8, {"'a'", "F16", "F32 only"}},
      {hdr(R"("a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]})", fp), data8, {"'a'", "too many elements"}},
      {hdr(R"("a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]})", fp), data8, {"'a'", "non-negative"}},
      {hdr(R"("a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})", fp), data8, {"'a'", "non-negative"}},
      {hdr(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,800]})", fp), data8, {"'a'", "truncated"}},
      {hdr(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]})", fp), data8, {"'a'", "before the beginning"}},
      {hdr(R"("a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]})", fp), data8, {"'a'", "span 8 bytes"}},
      {hdr(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]})",
           fp + ",\"b.xxh3_128\":\"00000000000000000000000000000000\""),
       data8, {"overlap"}},
      {hdr(R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]})", fp), data8, {"[0, 4)", "belong to no tensor"}},
      {hdr(R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})", fp), data8, {"4 bytes at the end", "no tensor"}},
      {hdr(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1})", fp), data8, {"'a'", "unexpected field"}},
      {hdr(R"("a":{"dtype":"F32","shape":[2]})", fp), data8, {"'a'", "data_offsets"}},
      {hdr(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0]})", fp), data8, {"'a'", "pair"}},
      {hdr(R"("a":[1,2])", fp), data8, {"'a'", "not described by an object"}},
      {hdr(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", fp), data8, {"repeats", "'a'"}},
      {"{\"__metadata__\":{" + meta + ",\"format\":\"lockstep-result-1\"}}", {}, {"repeats", "'format'"}},
      {"{\"__metadata__\":{" + meta + ",\"x\":5}}", {}, {"metadata 'x'", "not a string"}},
      {"{\"__metadata__\":[1]}", {}, {"__metadata__"}},
      {hdr("") + "garbage", {}, {"not valid JSON"}},
      {hdr(""), {}, {"without tensors"}},
      {"{\"a\": \"\xff\xfe\"}", {}, {"not valid JSON"}},
      {"{" + std::string(40, '[') + std::string(40, ']') + "}", {}, {"nests deeper"}},
      {"[1, 2, 3]", {}, {"does not start with '{'"}},
  };
  for (const Case& c : cases) {
    write_bytes(path, safetensors_bytes(c.header, c.data));
    const std::string msg = error_of([&] { read_result_file(path); });
    EXPECT_MENTIONS(msg, "bad.safetensors");
    for (const char* m : c.mentions) EXPECT_NE(msg.find(m), std::string::npos) << "lacks \"" << m << "\": " << msg << "\n  header: " << c.header;
  }
  // A header length far beyond the file, and one beyond the limit.
  std::vector<uint8_t> huge = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
  write_bytes(path, huge);
  EXPECT_MENTIONS(error_of([&] { read_result_file(path); }), "bad.safetensors", "header length");
  ReadLimits small;
  small.max_header_bytes = 16;
  write_result(path);
  EXPECT_MENTIONS(error_of([&] { read_result_file(path, small); }), "limit");
}

TEST(ResultReader, UnreadablePathsAreRefused) {
  ScratchDir dir;
  EXPECT_MENTIONS(error_of([&] { read_result_file(dir.path("missing.safetensors")); }), "missing.safetensors",
                  "cannot open");
  EXPECT_MENTIONS(error_of([&] { read_result_file(dir.dir().string()); }), "directory");
}

TEST(ResultReader, EmptyTensorsAndPaddingAreAccepted) {
  ScratchDir dir;
  const std::string path = dir.path("a.safetensors");
  std::vector<io::ResultTensor> t = {{"output", {1, 3}, {1, 2, 3}}, {"layer.0.empty", {0, 4}, {}}};
  write_result(path, t, run_metadata());
  const ResultFile r = read_result_file(path);
  ASSERT_NE(r.find("layer.0.empty"), nullptr);
  EXPECT_EQ(r.find("layer.0.empty")->elements(), 0u);
  EXPECT_EQ(r.find("layer.0.empty")->shape, (std::vector<uint64_t>{0, 4}));
}

}  // namespace
}  // namespace lockstep::report
