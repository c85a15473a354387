#include "io/npy.hpp"

#include "test_util.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace lockstep::io {
namespace {

using test::ScratchDir;

// A .npy file built by hand: magic, version, little-endian header length, header text
// (padded with spaces and '\n' to a 64-byte boundary when `pad`), then the data bytes.
std::vector<uint8_t> npy_file(int major, std::string header, const std::vector<uint8_t>& data,
                              bool pad = true) {
  const size_t prefix = major == 1 ? 10 : 12;
  if (pad) {
    header.append(64 - (prefix + header.size() + 1) % 64, ' ');
    header += '\n';
  }
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(major), 0};
  for (size_t i = 0; i < prefix - 8; ++i) out.push_back(uint8_t(header.size() >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<uint8_t> f4_bytes(std::initializer_list<float> values) {
  std::vector<uint8_t> out(values.size() * 4);
  std::memcpy(out.data(), std::data(values), out.size());
  return out;
}

std::string dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

TEST(NpyHandWritten, ReadsVersion1Float32FromKnownBytes) {
  ScratchDir dir;
  const std::string p = dir.path("v1.npy");
  // 1.0f = 00 00 80 3f, -2.5f = 00 00 20 c0 (little-endian IEEE 754).
  test::write_bytes(p, npy_file(1, dict("<f4", "(2,)"), {0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0}));
  const NpyArray a = read_npy(p);
  EXPECT_EQ(a.shape, (std::vector<uint64_t>{2}));
  ASSERT_EQ(a.data.size(), 2u);
  EXPECT_EQ(a.data[0], 1.0f);
  EXPECT_EQ(a.data[1], -2.5f);
  EXPECT_FALSE(a.converted_from_f64);
}

TEST(NpyHandWritten, ReadsVersions2And3) {
  ScratchDir dir;
  for (int major : {2, 3}) {
    const std::string p = dir.path("v" + std::to_string(major) + ".npy");
    test::write_bytes(p, npy_file(major, dict("<f4", "(1, 2)"), f4_bytes({3.5f, -0.0f})));
    const NpyArray a = read_npy(p);
    EXPECT_EQ(a.shape, (std::vector<uint64_t>{1, 2}));
    ASSERT_EQ(a.data.size(), 2u);
    EXPECT_EQ(a.data[0], 3.5f);
    EXPECT_TRUE(std::signbit(a.data[1]));
  }
}

TEST(NpyHandWritten, ConvertsFloat64AndSaysSo) {
  ScratchDir dir;
  const std::string p = dir.path("f8.npy");
  const double values[3] = {0.1, -1e300, 1.0 + 0x1p-30};
  std::vector<uint8_t> data(sizeof values);
  std::memcpy(data.data(), values, sizeof values);
  test::write_bytes(p, npy_file(1, dict("<f8", "(3,)"), data));
  const NpyArray a = read_npy(p);
  EXPECT_TRUE(a.converted_from_f64);
  ASSERT_EQ(a.data.size(), 3u);
  EXPECT_EQ(a.data[0], 0.1f);  // nearest float to the double 0.1
  EXPECT_EQ(a.data[1], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(a.data[2], 1.0f);
}

TEST(NpyHandWritten, AcceptsOlderHeaderSpellings) {
  ScratchDir dir;
  const std::string p = dir.path("old.npy");
  // NumPy < 1.9 aligned to 16 bytes, Python 2 wrote 3L; double quotes and no trailing comma
  // are valid Python too.
  std::string header = "{\"descr\":'<f4',  'fortran_order' : False,'shape':(3L, 1)}";
  header.append(16 - (10 + header.size() + 1) % 16, ' ');
  header += '\n';
  test::write_bytes(p, npy_file(1, header, f4_bytes({1, 2, 3}), false));
  const NpyArray a = read_npy(p);
  EXPECT_EQ(a.shape, (std::vector<uint64_t>{3, 1}));
  EXPECT_EQ(a.data, (std::vector<float>{1, 2, 3}));
}

TEST(NpyHandWritten, ScalarAndEmptyArrays) {
  ScratchDir dir;
  test::write_bytes(dir.path("scalar.npy"), npy_file(1, dict("<f4", "()"), f4_bytes({7.0f})));
  const NpyArray s = read_npy(dir.path("scalar.npy"));
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(s.data, (std::vector<float>{7.0f}));

  test::write_bytes(dir.path("empty.npy"), npy_file(1, dict("<f4", "(0, 5)"), {}));
  const NpyArray e = read_npy(dir.path("empty.npy"));
  EXPECT_EQ(e.shape, (std::vector<uint64_t>{0, 5}));
  EXPECT_TRUE(e.data.empty());
}

TEST(NpyWrite, HeaderIsWhatNumpyWrites) {
  ScratchDir dir;
  const std::string p = dir.path("h.npy");
  write_npy(p, {{2, 3}, {0, 1, 2, 3, 4, 5}, false});
  const std::vector<uint8_t> bytes = test::read_bytes(p);
  // numpy.save: sorted keys, repr(shape), 21 - len("2") spare spaces, pad to 64, '\n'.
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  header.append(20, ' ');
  header.append(127 - 10 - header.size(), ' ');
  header += '\n';
  ASSERT_EQ(bytes.size(), 128u + 24u);
  const std::vector<uint8_t> prefix = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0};
  EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), bytes.begin()));
  EXPECT_EQ(std::string(bytes.begin() + 10, bytes.begin() + 128), header);
}

TEST(NpyWrite, RoundTripIsBitForBit) {
  ScratchDir dir;
  const float nan_payload = std::bit_cast<float>(0x7fc00001u);
  const float specials[] = {0.0f,
                            -0.0f,
                            1.0f / 3.0f,
                            std::numeric_limits<float>::denorm_min(),
                            std::numeric_limits<float>::max(),
                            -std::numeric_limits<float>::infinity(),
                            nan_payload,
                            -123.456f};
  const std::vector<std::vector<uint64_t>> shapes = {{}, {0}, {8}, {2, 4}, {1, 2, 2, 2}};
  for (const auto& shape : shapes) {
    NpyArray a;
    a.shape = shape;
    for (uint64_t i = 0; i < element_count(shape); ++i) a.data.push_back(specials[i % 8]);
    const std::string p = dir.path("rt.npy");
    write_npy(p, a);  // the second and later writes replace the file via rename
    const NpyArray b = read_npy(p);
    EXPECT_EQ(b.shape, a.shape);
    ASSERT_EQ(b.data.size(), a.data.size());
    for (size_t i = 0; i < a.data.size(); ++i)
      EXPECT_EQ(std::bit_cast<uint32_t>(a.data[i]), std::bit_cast<uint32_t>(b.data[i])) << i;
    EXPECT_FALSE(b.converted_from_f64);
  }
  // No temporary files are left behind.
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path("")))
    ++files;
  EXPECT_EQ(files, 1u);
}

TEST(NpyWrite, RejectsShapeDataMismatch) {
  ScratchDir dir;
  const std::string p = dir.path("bad.npy");
  EXPECT_ERROR_MENTIONS(write_npy(p, {{2, 2}, {1, 2, 3}, false}), "bad.npy", "shape");
  EXPECT_FALSE(std::filesystem::exists(p));
}

// Every malformed file gives a runtime_error naming the file and the field at fault.
TEST(NpyMalformed, EachCaseNamesFileAndField) {
  struct Case {
    const char* what;
    std::vector<uint8_t> bytes;
    std::vector<const char*> mentions;
  };
  const auto good = npy_file(1, dict("<f4", "(2,)"), f4_bytes({1, 2}));
  auto with_len = [&](uint16_t len) {
    auto b = good;
    b[8] = uint8_t(len);
    b[9] = uint8_t(len >> 8);
    return b;
  };
  const std::vector<Case> cases = {
      {"bad magic", {'N', 'O', 'T', 'N', 'P', 'Y', 1, 0, 0, 0}, {"magic", "\\x93NUMPY"}},
      {"png", {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13}, {"magic", "PNG"}},
      {"version 4.0", npy_file(4, dict("<f4", "(2,)"), f4_bytes({1, 2})), {"version", "4.0"}},
      {"truncated in version", {0x93, 'N', 'U', 'M', 'P', 'Y', 1}, {"header", "truncated"}},
      {"truncated in length", {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 5}, {"header", "truncated"}},
      {"header length beyond file", with_len(60000), {"header length", "60000"}},
      {"header cut short", std::vector<uint8_t>(good.begin(), good.begin() + 40),
       {"header length"}},
      {"not a dict", npy_file(1, "[1, 2]", {}), {"header", "dict"}},
      {"unterminated", npy_file(1, "{'descr': '<f4", {}), {"header", "dict"}},
      {"garbage after dict", npy_file(1, dict("<f4", "(2,)") + " x", f4_bytes({1, 2})),
       {"header", "dict"}},
      {"missing shape", npy_file(1, "{'descr': '<f4', 'fortran_order': False}", {}),
       {"header", "'shape'", "missing"}},
      {"missing descr", npy_file(1, "{'fortran_order': False, 'shape': (1,)}", f4_bytes({1})),
       {"header", "'descr'", "missing"}},
      {"unknown key", npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}",
                               f4_bytes({1})),
       {"header", "'x'"}},
      {"duplicate key",
       npy_file(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", {}),
       {"header", "'descr'", "twice"}},
      {"int16", npy_file(1, dict("<i2", "(2,)"), {1, 0, 2, 0}),
       {"header field 'descr' is '<i2': expected '<f4' or '<f8'"}},
      {"big-endian", npy_file(1, dict(">f4", "(2,)"), f4_bytes({1, 2})),
       {"'descr'", "big-endian"}},
      {"descr not a string", npy_file(1, "{'descr': (1,), 'fortran_order': False, 'shape': ()}",
                                      f4_bytes({1})),
       {"'descr'", "not a string"}},
      {"fortran order", npy_file(1, dict("<f4", "(2,)", true), f4_bytes({1, 2})),
       {"'fortran_order'", "True"}},
      {"shape not a tuple", npy_file(1, dict("<f4", "[2]"), f4_bytes({1, 2})), {"header"}},
      {"one-element shape without comma", npy_file(1, dict("<f4", "(2)"), f4_bytes({1, 2})),
       {"header", "','"}},
      {"negative dimension", npy_file(1, dict("<f4", "(-2,)"), {}), {"header", "non-negative"}},
      {"dimension beyond 2^64", npy_file(1, dict("<f4", "(18446744073709551616,)"), {}),
       {"header", "2^64"}},
      {"element count overflows",
       npy_file(1, dict("<f4", "(4294967296, 4294967296, 2)"), f4_bytes({1})),
       {"'shape'", "overflows"}},
      {"absurd element count", npy_file(1, dict("<f4", "(1000000, 1000000, 1000)"), f4_bytes({1})),
       {"'shape'", "1000000000000000", "4 data bytes"}},
      {"bytes overflow", npy_file(1, dict("<f8", "(4611686018427387904,)"), f4_bytes({1})),
       {"'shape'", "2^64"}},
      {"data too short", npy_file(1, dict("<f4", "(3,)"), f4_bytes({1, 2})),
       {"'shape'", "8 data bytes", "12 bytes", "truncated"}},
      {"data too long", npy_file(1, dict("<f4", "(1,)"), f4_bytes({1, 2})),
       {"data is 8 bytes", "expected 4 bytes", "trailing"}},
  };
  ScratchDir dir;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string p = dir.path("case.npy");
    test::write_bytes(p, c.bytes);
    const std::string msg = test::error_message([&] { read_npy(p); });
    EXPECT_NE(msg.find(p + ": "), std::string::npos) << msg;
    for (const char* m : c.mentions) EXPECT_NE(msg.find(m), std::string::npos) << msg;
    // The in-memory parser gives the same message under the given name.
    const std::string mem = test::error_message([&] { parse_npy(c.bytes, p); });
    EXPECT_EQ(mem, msg);
  }
}

TEST(NpyMalformed, EmptyFile) {
  ScratchDir dir;
  const std::string p = dir.path("empty.npy");
  test::write_bytes(p, {});
  EXPECT_ERROR_MENTIONS(read_npy(p), "empty.npy: ", "empty");
}

TEST(NpyMalformed, MissingFile) {
  ScratchDir dir;
  const std::string p = dir.path("nope.npy");
  EXPECT_ERROR_MENTIONS(read_npy(p), "nope.npy: ", "cannot open", "No such file");
}

TEST(NpyMalformed, Directory) {
  ScratchDir dir;
  EXPECT_ERROR_MENTIONS(read_npy(dir.path("")), "cannot open", "directory");
}

// Mutated copies of a valid file: each is either read consistently or rejected with a
// runtime_error; nothing else (no crash, no other exception, no huge allocation).
TEST(NpyMalformed, RandomCorruptionOnlyThrowsRuntimeError) {
  ScratchDir dir;
  write_npy(dir.path("ok.npy"), {{3, 4}, std::vector<float>(12, 1.5f), false});
  const std::vector<uint8_t> good = test::read_bytes(dir.path("ok.npy"));
  uint64_t s = 12345;
  auto next = [&] { return (s = s * 6364136223846793005ull + 1442695040888963407ull) >> 33; };
  size_t rejected = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::vector<uint8_t> b = good;
    const int edits = 1 + int(next() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = next() % std::min<size_t>(b.size(), 140);  // mostly the header
      switch (next() % 4) {
        case 0: b[at] = uint8_t(next()); break;
        case 1: b[at] = "0123456789(),' \x00\xff"[next() % 16]; break;
        case 2: b.resize(next() % b.size()); break;
        default: b.insert(b.begin() + long(at), uint8_t(next())); break;
      }
      if (b.empty()) break;
    }
    try {
      const NpyArray a = parse_npy(b, "fuzz.npy");
      EXPECT_EQ(a.data.size(), element_count(a.shape));
    } catch (const std::runtime_error& e) {
      ++rejected;
      EXPECT_EQ(std::string(e.what()).rfind("fuzz.npy: ", 0), 0u) << e.what();
    }
  }
  EXPECT_GT(rejected, 3000u);
}

// Files written by NumPy itself, and NumPy reading ours: runs when python3 with numpy exists.
TEST(NpyNumpy, InteroperatesWithNumpy) {
  const auto python = test::find_python("numpy");
  if (!python) GTEST_SKIP() << "no python3 with numpy (Debian: python3-numpy); the hand-written "
                               "byte tests above still cover the format";
  ScratchDir dir;
  const std::string script = dir.path("np.py");
  test::write_text(script, R"(import sys, numpy as np
d = sys.argv[1]
a = (np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 7.25) / 3
np.save(d + '/f4.npy', a)
np.save(d + '/f8.npy', a.astype(np.float64) / 7)
np.save(d + '/scalar.npy', np.float32(2.5))
np.save(d + '/vec.npy', np.array([1e-45, -0.0, np.inf], dtype=np.float32))
np.save(d + '/fortran.npy', np.asfortranarray(a))
np.save(d + '/i8.npy', np.arange(3))
np.save(d + '/wide.npy', np.zeros((1,) * 30, dtype=np.float32))
# Read back what lockstep wrote and check it value for value.
b = np.load(d + '/ours.npy')
assert b.dtype == np.float32 and b.shape == (2, 3, 4), (b.dtype, b.shape)
assert np.array_equal(b, a)
# Write the same array with numpy so the C++ side can compare the bytes.
np.save(d + '/theirs.npy', a)
)");
  // What lockstep writes: the same values as `a` in the script.
  NpyArray ours{{2, 3, 4}, {}, false};
  for (int i = 0; i < 24; ++i) ours.data.push_back((float(i) - 7.25f) / 3.0f);
  write_npy(dir.path("ours.npy"), ours);
  ASSERT_TRUE(test::run_python(*python, script, dir.path("")));

  EXPECT_EQ(test::read_bytes(dir.path("ours.npy")), test::read_bytes(dir.path("theirs.npy")))
      << "lockstep's .npy bytes differ from numpy.save's";
  const NpyArray f4 = read_npy(dir.path("f4.npy"));
  EXPECT_EQ(f4.shape, (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_EQ(f4.data, ours.data);
  const NpyArray f8 = read_npy(dir.path("f8.npy"));
  EXPECT_TRUE(f8.converted_from_f64);
  for (size_t i = 0; i < 24; ++i) EXPECT_EQ(f8.data[i], float(double(ours.data[i]) / 7)) << i;
  EXPECT_EQ(read_npy(dir.path("scalar.npy")).data, (std::vector<float>{2.5f}));
  const NpyArray vec = read_npy(dir.path("vec.npy"));
  EXPECT_EQ(vec.data[0], std::numeric_limits<float>::denorm_min());
  EXPECT_TRUE(std::signbit(vec.data[1]));
  EXPECT_EQ(read_npy(dir.path("wide.npy")).shape.size(), 30u);
  EXPECT_ERROR_MENTIONS(read_npy(dir.path("fortran.npy")), "fortran.npy", "'fortran_order'");
  EXPECT_ERROR_MENTIONS(read_npy(dir.path("i8.npy")), "i8.npy", "'descr'", "'<i8'");
}

}  // namespace
}  // namespace lockstep::io
