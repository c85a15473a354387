#include "io/labels.hpp"

#include "test_util.hpp"

namespace lockstep::io {
namespace {

using test::ScratchDir;

TEST(Labels, RepositoryFileHas1000InClassOrder) {
  const std::vector<std::string> labels = load_labels(default_labels_path());
  ASSERT_EQ(labels.size(), 1000u);
  EXPECT_EQ(labels[0], "tench");
  EXPECT_EQ(labels[1], "goldfish");
  EXPECT_EQ(labels[207], "golden retriever");
  EXPECT_EQ(labels[281], "tabby");
  EXPECT_EQ(labels[409], "analog clock");
  EXPECT_EQ(labels[948], "Granny Smith");
  EXPECT_EQ(labels[999], "toilet tissue");
  // Two names really are repeated in ImageNet-1k (different WordNet synsets).
  EXPECT_EQ(labels[134], "crane");
  EXPECT_EQ(labels[517], "crane");
}

std::string numbered_lines(size_t n, const std::string& eol = "\n") {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += "class " + std::to_string(i) + eol;
  return s;
}

TEST(Labels, AcceptsCrLfAndMissingFinalNewline) {
  ScratchDir dir;
  test::write_text(dir.path("crlf.txt"), numbered_lines(1000, "\r\n"));
  EXPECT_EQ(load_labels(dir.path("crlf.txt"))[999], "class 999");
  std::string s = numbered_lines(1000);
  s.pop_back();
  test::write_text(dir.path("nofinal.txt"), s);
  EXPECT_EQ(load_labels(dir.path("nofinal.txt"))[999], "class 999");
}

TEST(Labels, WrongCountOrEmptyLinesAreErrors) {
  ScratchDir dir;
  test::write_text(dir.path("short.txt"), numbered_lines(999));
  EXPECT_ERROR_MENTIONS(load_labels(dir.path("short.txt")), "short.txt: ", "999", "1000");
  test::write_text(dir.path("long.txt"), numbered_lines(1001));
  EXPECT_ERROR_MENTIONS(load_labels(dir.path("long.txt")), "long.txt: ", "1001", "1000");
  test::write_text(dir.path("blank.txt"), "a\n\n" + numbered_lines(998));
  EXPECT_ERROR_MENTIONS(load_labels(dir.path("blank.txt")), "blank.txt: ", "line 2", "empty");
  test::write_text(dir.path("trailing.txt"), numbered_lines(1000) + "\n");
  EXPECT_ERROR_MENTIONS(load_labels(dir.path("trailing.txt")), "trailing.txt: ", "line 1001");
  test::write_text(dir.path("empty.txt"), "");
  EXPECT_ERROR_MENTIONS(load_labels(dir.path("empty.txt")), "empty.txt: ", "0 labels");
  EXPECT_ERROR_MENTIONS(load_labels(dir.path("missing.txt")), "missing.txt: ", "cannot open");
  test::write_text(dir.path("three.txt"), "a\nb\nc\n");
  EXPECT_EQ(load_labels(dir.path("three.txt"), 3).size(), 3u);
}

TEST(Labels, DataDirOverridesSourceDir) {
  ScratchDir dir;
  const char* old = std::getenv("LOCKSTEP_DATA_DIR");
  const std::string saved = old ? old : "";
  ::setenv("LOCKSTEP_DATA_DIR", dir.path("").c_str(), 1);
  EXPECT_ERROR_MENTIONS(default_labels_path(), "imagenet_labels.txt", "LOCKSTEP_DATA_DIR");
  test::write_text(dir.path("imagenet_labels.txt"), numbered_lines(1000));
  EXPECT_EQ(default_labels_path(), dir.path("imagenet_labels.txt"));
  if (old)
    ::setenv("LOCKSTEP_DATA_DIR", saved.c_str(), 1);
  else
    ::unsetenv("LOCKSTEP_DATA_DIR");
}

}  // namespace
}  // namespace lockstep::io
