#include "vk/sequence.hpp"

#include <array>
#include <stdexcept>

namespace lockstep {

namespace {
constexpr uint32_t kSetsPerPool = 128;
constexpr uint32_t kMaxBindingsPerSet = 8;
constexpr uint32_t kMaxTimedDispatches = 2048;
}  // namespace

Sequence::Sequence(Device& device, bool timestamps) : device_(device) {
  cb_ = device_.allocate_command_buffer();
  cb_.begin(vk::CommandBufferBeginInfo());
  if (timestamps && device_.traits().timestamps) {
    query_capacity_ = 2 * kMaxTimedDispatches;
    queries_ = vk::raii::QueryPool(device_.device(), vk::QueryPoolCreateInfo({}, vk::QueryType::eTimestamp, query_capacity_));
    cb_.resetQueryPool(*queries_, 0, query_capacity_);
  }
}

vk::DescriptorSet Sequence::allocate_set(const Kernel& kernel) {
  if (pools_.empty() || sets_in_pool_ == kSetsPerPool) {
    const std::array<vk::DescriptorPoolSize, 3> sizes{
        vk::DescriptorPoolSize(vk::DescriptorType::eStorageBuffer, kSetsPerPool * kMaxBindingsPerSet),
        vk::DescriptorPoolSize(vk::DescriptorType::eUniformTexelBuffer, kSetsPerPool * kMaxBindingsPerSet),
        vk::DescriptorPoolSize(vk::DescriptorType::eStorageTexelBuffer, kSetsPerPool * kMaxBindingsPerSet)};
    pools_.emplace_back(device_.device(), vk::DescriptorPoolCreateInfo({}, kSetsPerPool, sizes));
    sets_in_pool_ = 0;
  }
  ++sets_in_pool_;
  // Sets are freed with their pool, not one by one.
  const vk::DescriptorSetLayout layout = *kernel.set_layout;
  return (*device_.device()).allocateDescriptorSets(vk::DescriptorSetAllocateInfo(*pools_.back(), layout)).front();
}

void Sequence::dispatch(const Kernel& kernel, std::initializer_list<Binding> bindings, const void* push,
                        uint32_t push_bytes, uint64_t groups, std::string label) {
  if (ended_) throw std::logic_error("Sequence::dispatch after submit");
  if (bindings.size() != kernel.desc.bindings || bindings.size() > kMaxBindingsPerSet)
    throw std::invalid_argument(kernel.desc.shader + ": " + std::to_string(bindings.size()) + " buffers bound, expected " +
                                std::to_string(kernel.desc.bindings));
  if (push_bytes != kernel.desc.push_bytes)
    throw std::invalid_argument(kernel.desc.shader + ": " + std::to_string(push_bytes) + " bytes of push constants, expected " +
                                std::to_string(kernel.desc.push_bytes));
  if (groups == 0) return;
  const auto& t = device_.traits();
  const uint64_t gx = std::min<uint64_t>(groups, t.max_workgroup_count_x);
  const uint64_t gy = (groups + gx - 1) / gx;
  if (gy > t.max_workgroup_count_y)
    throw std::invalid_argument(kernel.desc.shader + ": " + std::to_string(groups) + " workgroups exceed the device's limits");

  const vk::DescriptorSet set = allocate_set(kernel);
  std::vector<vk::DescriptorBufferInfo> infos(bindings.size());
  std::vector<vk::BufferView> views(bindings.size());
  std::vector<vk::WriteDescriptorSet> writes;
  uint32_t i = 0;
  for (const Binding& b : bindings) {
    if (!b.buffer || !b.buffer->valid()) throw std::invalid_argument(kernel.desc.shader + ": unbound buffer");
    if (b.offset >= b.buffer->allocated_bytes())
      throw std::invalid_argument(kernel.desc.shader + ": binding offset " + std::to_string(b.offset) +
                                  " is past the end of a " + std::to_string(b.buffer->bytes()) + "-byte buffer");
    const uint64_t range = b.range == VK_WHOLE_SIZE ? b.buffer->allocated_bytes() - b.offset : b.range;
    const vk::DescriptorType type = kernel.desc.descriptor_type(i);
    if (type != vk::DescriptorType::eStorageBuffer) {
      if (range % 16 != 0 || range / 16 > t.max_texel_buffer_elements ||
          (t.min_texel_buffer_offset_alignment && b.offset % t.min_texel_buffer_offset_alignment != 0))
        throw std::invalid_argument(kernel.desc.shader + ": a texel view of " + std::to_string(range) + " bytes at offset " +
                                    std::to_string(b.offset) + " does not fit the device's maxTexelBufferElements (" +
                                    std::to_string(t.max_texel_buffer_elements) + ") or offset alignment");
      views_.emplace_back(device_.device(),
                          vk::BufferViewCreateInfo({}, b.buffer->handle(), vk::Format::eR32G32B32A32Sfloat, b.offset, range));
      views[i] = *views_.back();
      writes.emplace_back(set, i, 0, 1, type, nullptr, nullptr, &views[i]);
    } else {
      if (range > t.max_storage_buffer_range)
        throw std::invalid_argument(kernel.desc.shader + ": a binding of " + std::to_string(range) +
                                    " bytes exceeds maxStorageBufferRange (" + std::to_string(t.max_storage_buffer_range) +
                                    "); it must be split");
      infos[i] = vk::DescriptorBufferInfo(b.buffer->handle(), b.offset, range);
      writes.emplace_back(set, i, 0, 1, vk::DescriptorType::eStorageBuffer, nullptr, &infos[i]);
    }
    ++i;
  }
  device_.device().updateDescriptorSets(writes, {});

  const uint32_t q = static_cast<uint32_t>(labels_.size()) * 2;
  const bool timed = *queries_ && q + 1 < query_capacity_;
  if (timed) cb_.writeTimestamp(vk::PipelineStageFlagBits::eTopOfPipe, *queries_, q);
  cb_.bindPipeline(vk::PipelineBindPoint::eCompute, *kernel.pipeline);
  cb_.bindDescriptorSets(vk::PipelineBindPoint::eCompute, *kernel.layout, 0, set, {});
  if (push_bytes) cb_.pushConstants<uint8_t>(*kernel.layout, vk::ShaderStageFlagBits::eCompute, 0,
                                             vk::ArrayProxy<const uint8_t>(push_bytes, static_cast<const uint8_t*>(push)));
  cb_.dispatch(static_cast<uint32_t>(gx), static_cast<uint32_t>(gy), 1);
  if (timed) cb_.writeTimestamp(vk::PipelineStageFlagBits::eBottomOfPipe, *queries_, q + 1);
  // Every dispatch may read what the previous ones wrote.
  vk::MemoryBarrier mb(vk::AccessFlagBits::eShaderWrite, vk::AccessFlagBits::eShaderRead | vk::AccessFlagBits::eShaderWrite);
  cb_.pipelineBarrier(vk::PipelineStageFlagBits::eComputeShader, vk::PipelineStageFlagBits::eComputeShader, {}, mb, {}, {});
  if (label.empty()) label = kernel.desc.shader;
  labels_.push_back(scope_.empty() ? label : scope_ + " (" + label + ")");
}

void Sequence::submit() {
  if (!ended_) {
    cb_.end();
    ended_ = true;
  }
  device_.submit_and_wait(*cb_, "a compute sequence");
}

std::vector<DispatchTiming> Sequence::timings() const {
  std::vector<DispatchTiming> out;
  if (!*queries_ || labels_.empty()) return out;
  const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(labels_.size()) * 2, query_capacity_);
  std::vector<uint64_t> ts(n);
  const auto r = (*device_.device()).getQueryPoolResults(*queries_, 0, n, ts.size() * 8, ts.data(), 8,
                                                          vk::QueryResultFlagBits::e64);
  if (r != vk::Result::eSuccess) return out;
  const auto& t = device_.traits();
  const uint64_t mask = t.timestamp_valid_bits >= 64 ? ~0ull : ((1ull << t.timestamp_valid_bits) - 1);
  for (uint32_t i = 0; i + 1 < n; i += 2)
    out.push_back({labels_[i / 2], double((ts[i + 1] - ts[i]) & mask) * t.timestamp_period_ns * 1e-6});
  return out;
}

}  // namespace lockstep
