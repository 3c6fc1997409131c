#include "common/archive/byte_io.h"

#include <algorithm>
#include <cstring>

namespace tcpr::archive {

size_t SpanSource::read_at(uint64_t offset, std::span<uint8_t> out) const {
    if (offset >= bytes_.size()) {
        return 0;
    }
    const size_t n = std::min<uint64_t>(out.size(), bytes_.size() - offset);
    std::memcpy(out.data(), bytes_.data() + offset, n);
    return n;
}

}  // namespace tcpr::archive
