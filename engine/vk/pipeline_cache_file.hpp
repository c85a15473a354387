// The VkPipelineCache persisted on disk, one file per device (pipeline-cache UUID, vendor,
// device ID) and driver version. A file that is missing, truncated, or whose header names
// another device or driver is ignored with a warning, never passed to the driver.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lockstep {

struct PipelineCacheIdentity {
  uint32_t vendor_id = 0;
  uint32_t device_id = 0;
  uint32_t driver_version = 0;
  std::array<uint8_t, 16> cache_uuid{};
};

class PipelineCacheFile {
 public:
  // dir empty: the default ($LOCKSTEP_CACHE_DIR, else $XDG_CACHE_HOME/lockstep, else
  // $HOME/.cache/lockstep). LOCKSTEP_CACHE_DIR=off disables the on-disk cache.
  PipelineCacheFile(const PipelineCacheIdentity& id, std::filesystem::path dir = {});

  const std::filesystem::path& path() const { return path_; }
  bool enabled() const { return !path_.empty(); }

  // The stored bytes when they are a valid cache for this identity; nullopt (with the
  // reason in `warning`) otherwise.
  std::optional<std::vector<uint8_t>> load(std::string* warning = nullptr) const;
  // Writes to a temporary name and renames (util/atomic_file.hpp; LOCKSTEP_FAULT point
  // "cache.write"); returns false (and the reason) on failure, leaving the old file as it was.
  bool save(const std::vector<uint8_t>& data, std::string* warning = nullptr) const;

  // Checks the VkPipelineCacheHeaderVersionOne fields of `data` against `id`.
  static std::optional<std::string> header_mismatch(const std::vector<uint8_t>& data,
                                                    const PipelineCacheIdentity& id);

 private:
  PipelineCacheIdentity id_;
  std::filesystem::path path_;
};

std::filesystem::path default_cache_dir();

// How many saves failed in this process (disk full, directory not writable). The CLI exits
// with status 4 when any did, after its results: a cache that cannot be written is a machine
// problem worth knowing about, not a reason to lose the run.
uint32_t pipeline_cache_save_failures();

}  // namespace lockstep
