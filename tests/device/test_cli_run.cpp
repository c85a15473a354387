// `lockstep run` end to end, through the binary: results, and clear errors with a non-zero
// exit for bad input.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace {

struct Result {
  int status = -1;
  std::string out;
};

Result cli(const std::string& args) {
  const std::string cmd = std::string(LOCKSTEP_CLI) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  Result r;
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int s = ::pclose(p);
  r.status = WIFEXITED(s) ? WEXITSTATUS(s) : -1;
  return r;
}

class CliRun : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("lockstep-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file(const std::string& name, const std::string& bytes) {
    const auto p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
  }
  std::filesystem::path dir_;
};

TEST_F(CliRun, FixedOrderCheckAndFingerprintOnASmallModel) {
  const Result r = cli("run --device 0 --model resnet18 --layout torch --input-size 32 --check --fingerprint");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("layers bit-identical to the CPU reference"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fingerprint (XXH3-128"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("    1. "), std::string::npos) << r.out;
  // The same command twice gives the same fingerprint.
  const Result again = cli("run --device 0 --model resnet18 --layout torch --input-size 32 --fingerprint");
  const auto fp = [](const std::string& s) { return s.substr(s.find("fingerprint"), 90); };
  EXPECT_EQ(fp(r.out), fp(again.out));
}

TEST_F(CliRun, SaveWritesASafetensorsFile) {
  const std::string path = (dir_ / "out.safetensors").string();
  const Result r = cli("run --device 0 --model vgg11 --layout torch --input-size 32 --save " + path + " --layers");
  ASSERT_EQ(r.status, 0) << r.out;
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in.good());
  uint64_t header_len = 0;
  in.read(reinterpret_cast<char*>(&header_len), 8);
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  EXPECT_NE(header.find("\"output\""), std::string::npos);
  EXPECT_NE(header.find("layer.1.block1_conv1"), std::string::npos);
  EXPECT_NE(header.find("\"order\":\"fixed\""), std::string::npos);
  for (const auto& e : std::filesystem::directory_iterator(dir_))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << "temporary file left behind: " << e.path();
}

std::string fingerprint_of(const std::string& out) {
  const auto at = out.find("fingerprint");
  return at == std::string::npos ? "" : out.substr(at, out.find('\n', at) - at);
}

TEST_F(CliRun, KerasWeightFileGivesTheSameBitsAsTheSyntheticWeights) {
  const std::string h5 = (dir_ / "vgg11.h5").string();
  const std::string model = "--model vgg11 --layout keras --input-size 64";
  ASSERT_EQ(cli("export " + model + " " + h5).status, 0);
  const Result synthetic = cli("run --device 0 " + model + " --fingerprint");
  const Result loaded = cli("run --device 0 " + model + " --weights " + h5 + " --fingerprint");
  ASSERT_EQ(loaded.status, 0) << loaded.out;
  EXPECT_FALSE(fingerprint_of(synthetic.out).empty());
  EXPECT_EQ(fingerprint_of(synthetic.out), fingerprint_of(loaded.out));
  // The wrong architecture for the file: a clear error naming the file and a layer.
  const Result wrong = cli("run --device 0 --model vgg16 --layout keras --input-size 64 --weights " + h5);
  EXPECT_NE(wrong.status, 0);
  EXPECT_NE(wrong.out.find(h5), std::string::npos) << wrong.out;
  // A truncated copy.
  std::ifstream in(h5, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string cut = file("cut.h5", bytes.substr(0, bytes.size() / 2));
  const Result truncated = cli("run --device 0 " + model + " --weights " + cut);
  EXPECT_NE(truncated.status, 0);
  EXPECT_NE(truncated.out.find("cut.h5"), std::string::npos) << truncated.out;
}

TEST_F(CliRun, OnnxModelGivesTheSameBitsAsTheBuiltInNetwork) {
  const std::string onnx = (dir_ / "r18.onnx").string();
  const std::string model = "--model resnet18 --layout torch --input-size 32";
  ASSERT_EQ(cli("export " + model + " " + onnx).status, 0);
  const Result synthetic = cli("run --device 0 " + model + " --fingerprint");
  const Result loaded = cli("run --device 0 --layout torch --input-size 32 --weights " + onnx + " --fingerprint --check");
  ASSERT_EQ(loaded.status, 0) << loaded.out;
  EXPECT_FALSE(fingerprint_of(synthetic.out).empty());
  EXPECT_EQ(fingerprint_of(synthetic.out), fingerprint_of(loaded.out));
  EXPECT_NE(loaded.out.find("bit-identical to the CPU reference"), std::string::npos) << loaded.out;
  std::ifstream in(onnx, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string cut = file("cut.onnx", bytes.substr(0, bytes.size() / 3));
  const Result truncated = cli("run --device 0 --weights " + cut);
  EXPECT_NE(truncated.status, 0);
  EXPECT_NE(truncated.out.find("cut.onnx"), std::string::npos) << truncated.out;
  const Result png = cli("run --device 0 --weights " + file("image.onnx", "\x89PNG\r\n\x1a\n0000"));
  EXPECT_NE(png.status, 0);
  EXPECT_NE(png.out.find("image.onnx"), std::string::npos) << png.out;
}

TEST_F(CliRun, BadInputsGiveClearErrors) {
  struct Case {
    std::string args, expected;
  };
  const std::string missing = (dir_ / "missing.png").string();
  const std::string text = file("notes.png", "this is not an image");
  const std::string bad_npy = file("bad.npy", "\x93NUMPY\x01\x00garbage");
  const std::vector<Case> cases = {
      {"run --model resnet51", "model 'resnet51' is not one of"},
      {"run --model resnet18 --weights random:abc", "expected random:SEED"},
      {"run --model resnet18 --order sorted", "order 'sorted' is not one of"},
      {"run --model resnet18 --denormals flush", "denormal rule 'flush' is not one of"},
      {"run --model resnet18 --input-size 16", "input size 16: expected >= 32"},
      {"run --model resnet18 --input-size 32 " + missing, "missing.png"},
      {"run --model resnet18 --input-size 32 " + text, "notes.png"},
      {"run --model resnet18 --input-size 32 " + bad_npy, "bad.npy"},
      {"run --model resnet18 --preprocess caffe", "caffe"},
      {"--device 7 run --model resnet18", "device index 7 is out of range"},
      {"run --model resnet18 --weights " + file("weights.bin", "x"), "expected random:SEED, a .onnx file or a Keras .h5"},
      {"run --model resnet18 --weights " + file("png.h5", "\x89PNG\r\n\x1a\n"), "png.h5"},
      {"run --model resnet18 --layout torch --weights " + file("t.h5", "x"), "need --layout keras"},
  };
  for (const auto& c : cases) {
    const Result r = cli(c.args);
    EXPECT_NE(r.status, 0) << c.args << "\n" << r.out;
    EXPECT_NE(r.status, -1) << c.args << ": crashed\n" << r.out;
    EXPECT_NE(r.out.find(c.expected), std::string::npos) << c.args << "\n" << r.out;
  }
}

}  // namespace
