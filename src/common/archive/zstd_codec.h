// RAII wrappers around the zstd contexts and the few frame-level helpers the archive needs.
// Every zstd size_t result is checked with ZSTD_isError and turned into tcpr::Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace tcpr::archive {

// Compresses independent frames with the content size and a content checksum in each frame.
class ZstdCompressor {
  public:
    // Throws tcpr::Error(Usage) for a level zstd rejects, Error(Internal) if out of memory.
    explicit ZstdCompressor(int level);
    ~ZstdCompressor();
    ZstdCompressor(ZstdCompressor&&) noexcept;
    ZstdCompressor& operator=(ZstdCompressor&&) noexcept;

    // Replaces `out` with one complete zstd frame holding `src`. Reuses out's capacity.
    void compress(std::span<const uint8_t> src, std::vector<uint8_t>& out);

  private:
    struct Free {
        void operator()(ZSTD_CCtx_s* c) const;
    };
    std::unique_ptr<ZSTD_CCtx_s, Free> ctx_;
};

class ZstdDecompressor {
  public:
    ZstdDecompressor();  // throws tcpr::Error(Internal) if out of memory
    ~ZstdDecompressor();
    ZstdDecompressor(ZstdDecompressor&&) noexcept;
    ZstdDecompressor& operator=(ZstdDecompressor&&) noexcept;

    // Decompresses `src`, which must be exactly one zstd frame, into `dst`, and checks that it
    // filled `dst` exactly. Throws tcpr::Error(Corrupt) with a short reason ("zstd checksum
    // mismatch", "zstd: Corrupted block detected", ...).
    void decompress_exact(std::span<const uint8_t> src, std::span<uint8_t> dst);

  private:
    struct Free {
        void operator()(ZSTD_DCtx_s* d) const;
    };
    std::unique_ptr<ZSTD_DCtx_s, Free> ctx_;
};

// Little-endian u32 at p (for magics and skippable frame sizes).
uint32_t load_le32(const uint8_t* p);

// Appends a skippable frame: magic, payload size, payload.
void append_skippable_frame(std::vector<uint8_t>& out, uint32_t magic,
                            std::span<const uint8_t> payload);

// Where the zstd frame starting at src[0] ends, from its block headers.
struct FrameExtent {
    enum class Status {
        Ok,        // size is the frame's compressed size
        NeedMore,  // the frame continues beyond src
        Bad,       // not a well-formed frame header / block sequence (why says what)
    };
    Status status = Status::Bad;
    size_t size = 0;
    std::string why;
};
FrameExtent find_zstd_frame_extent(std::span<const uint8_t> src);

// The content size declared in a zstd frame header, nullopt if absent or unreadable.
std::optional<uint64_t> zstd_content_size(std::span<const uint8_t> frame);

// True if the frame header (at least 5 bytes) declares a content checksum.
bool zstd_has_checksum(std::span<const uint8_t> frame);

}  // namespace tcpr::archive
