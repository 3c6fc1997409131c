#include "common/archive/zstd_codec.h"

// For ZSTD_getCParams() (exported by libzstd, in the "experimental" part of its API since
// v1.0; stable in practice). See ZstdCompressor::ZstdCompressor.
#define ZSTD_STATIC_LINKING_ONLY
#include <utility>

#include <zstd.h>
#include <zstd_errors.h>

#include "common/archive/format.h"
#include "common/base/error.h"

namespace tcpr::archive {
namespace {

std::string zstd_reason(size_t rc) {
    if (ZSTD_getErrorCode(rc) == ZSTD_error_checksum_wrong) {
        return "zstd checksum mismatch";
    }
    return std::string("zstd: ") + ZSTD_getErrorName(rc);
}

void check_c(size_t rc, const char* what) {
    if (ZSTD_isError(rc)) {
        const ErrorKind kind = ZSTD_getErrorCode(rc) == ZSTD_error_parameter_outOfBound
                                   ? ErrorKind::Usage
                                   : ErrorKind::Internal;
        throw Error(kind, std::string("zstd compression: ") + what + ": " + ZSTD_getErrorName(rc));
    }
}

}  // namespace

void ZstdCompressor::Free::operator()(ZSTD_CCtx_s* c) const { ZSTD_freeCCtx(c); }
void ZstdDecompressor::Free::operator()(ZSTD_DCtx_s* d) const { ZSTD_freeDCtx(d); }

ZstdCompressor::ZstdCompressor(int level) : ctx_(ZSTD_createCCtx()) {
    if (!ctx_) {
        throw Error(ErrorKind::Internal, "zstd compression: cannot create context (out of memory)");
    }
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
        throw Error(ErrorKind::Usage, "zstd compression level " + std::to_string(level) +
                                          " is outside " + std::to_string(ZSTD_minCLevel()) + ".." +
                                          std::to_string(ZSTD_maxCLevel()));
    }
    check_c(ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_compressionLevel, level), "set level");
    // zstd picks a level's parameters by source size, and for 128-256 KiB sources its tables
    // choose settings that compress pcap records about 7% worse than those for larger sources
    // (minMatch 4, hashLog 16 at level 3). Frames closed by time have any size, so every frame
    // uses the parameters of a large source at this level; zstd still shrinks the window to the
    // frame's size (the pledged content size), so decoders need no more memory.
    const ZSTD_compressionParameters p = ZSTD_getCParams(level, 0, 0);
    const std::pair<ZSTD_cParameter, int> params[] = {
        {ZSTD_c_windowLog, static_cast<int>(p.windowLog)},
        {ZSTD_c_chainLog, static_cast<int>(p.chainLog)},
        {ZSTD_c_hashLog, static_cast<int>(p.hashLog)},
        {ZSTD_c_searchLog, static_cast<int>(p.searchLog)},
        {ZSTD_c_minMatch, static_cast<int>(p.minMatch)},
        {ZSTD_c_targetLength, static_cast<int>(p.targetLength)},
        {ZSTD_c_strategy, static_cast<int>(p.strategy)},
    };
    for (const auto& [param, value] : params) {
        check_c(ZSTD_CCtx_setParameter(ctx_.get(), param, value), "set parameters");
    }
    check_c(ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_checksumFlag, 1), "enable checksum");
    check_c(ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_contentSizeFlag, 1), "enable size");
}

ZstdCompressor::~ZstdCompressor() = default;
ZstdCompressor::ZstdCompressor(ZstdCompressor&&) noexcept = default;
ZstdCompressor& ZstdCompressor::operator=(ZstdCompressor&&) noexcept = default;

void ZstdCompressor::compress(std::span<const uint8_t> src, std::vector<uint8_t>& out) {
    const size_t bound = ZSTD_compressBound(src.size());
    check_c(bound, "bound");
    // resize() only value-initialises bytes beyond the old size: with a reused buffer this is
    // a no-op after the first frames.
    if (out.size() < bound) {
        out.resize(bound);
    }
    // ZSTD_compress2 is single-pass: the whole source is known, so the frame header carries
    // the content size (ZSTD_c_contentSizeFlag) and the checksum ends the frame.
    const size_t n = ZSTD_compress2(ctx_.get(), out.data(), out.size(), src.data(), src.size());
    check_c(n, "compress");
    out.resize(n);
}

ZstdDecompressor::ZstdDecompressor() : ctx_(ZSTD_createDCtx()) {
    if (!ctx_) {
        throw Error(ErrorKind::Internal,
                    "zstd decompression: cannot create context (out of memory)");
    }
}

ZstdDecompressor::~ZstdDecompressor() = default;
ZstdDecompressor::ZstdDecompressor(ZstdDecompressor&&) noexcept = default;
ZstdDecompressor& ZstdDecompressor::operator=(ZstdDecompressor&&) noexcept = default;

void ZstdDecompressor::decompress_exact(std::span<const uint8_t> src, std::span<uint8_t> dst) {
    const size_t n =
        ZSTD_decompressDCtx(ctx_.get(), dst.data(), dst.size(), src.data(), src.size());
    if (ZSTD_isError(n)) {
        throw Error(ErrorKind::Corrupt, zstd_reason(n));
    }
    if (n != dst.size()) {
        throw Error(ErrorKind::Corrupt, "frame holds " + std::to_string(n) + " bytes, expected " +
                                            std::to_string(dst.size()));
    }
}

uint32_t load_le32(const uint8_t* p) {
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

void append_skippable_frame(std::vector<uint8_t>& out, uint32_t magic,
                            std::span<const uint8_t> payload) {
    const auto size = static_cast<uint32_t>(payload.size());
    for (uint32_t v : {magic, size}) {
        for (int i = 0; i < 4; ++i) {
            out.push_back(static_cast<uint8_t>(v >> (8 * i)));
        }
    }
    out.insert(out.end(), payload.begin(), payload.end());
}

FrameExtent find_zstd_frame_extent(std::span<const uint8_t> src) {
    FrameExtent e;
    const size_t n = ZSTD_findFrameCompressedSize(src.data(), src.size());
    if (!ZSTD_isError(n)) {
        e.status = FrameExtent::Status::Ok;
        e.size = n;
        return e;
    }
    if (ZSTD_getErrorCode(n) == ZSTD_error_srcSize_wrong) {
        e.status = FrameExtent::Status::NeedMore;
        return e;
    }
    e.status = FrameExtent::Status::Bad;
    e.why = std::string("zstd: ") + ZSTD_getErrorName(n);
    return e;
}

std::optional<uint64_t> zstd_content_size(std::span<const uint8_t> frame) {
    const unsigned long long n = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR) {
        return std::nullopt;
    }
    return n;
}

bool zstd_has_checksum(std::span<const uint8_t> frame) {
    // RFC 8878 3.1.1.1.1: Frame_Header_Descriptor follows the magic; bit 2 is
    // Content_Checksum_flag.
    if (frame.size() < 5 || load_le32(frame.data()) != format::kZstdMagic) {
        return false;
    }
    return (frame[4] & 0x04) != 0;
}

}  // namespace tcpr::archive
