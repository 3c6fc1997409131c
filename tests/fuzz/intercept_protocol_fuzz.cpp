// libFuzzer target: wire::decode and wire::FrameBuffer on arbitrary bytes.
// Invariants: decoding never crashes or reads outside the input; an Ok frame consumed is within
// the input; re-encoding a decoded message gives back the frame byte for byte (flags aside,
// which versions 1 and 2 ignore); a FrameBuffer fed the same bytes in pieces agrees with decode().
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "common/wire/intercept_protocol.h"

namespace {

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tcpr::wire;
    const std::span<const uint8_t> input(data, size);

    // 1. decode() frame by frame, as a receiver's loop would.
    std::vector<DecodeStatus> statuses;
    std::span<const uint8_t> rest = input;
    while (true) {
        const DecodeResult r = decode(rest);
        statuses.push_back(r.status);
        if (r.status != DecodeStatus::Ok) {
            check(r.consumed == 0 && !r.message);
            break;
        }
        check(r.message.has_value());
        check(r.consumed >= kHeaderBytes && r.consumed <= rest.size());
        // A version-1 frame decodes only as an Error, re-encoded as version 1.
        std::vector<uint8_t> again =
            rest[0] == kLegacyVersion ? encode_legacy_error(std::get<ErrorMsg>(*r.message).reason)
                                      : encode(*r.message);
        check(again.size() == r.consumed);
        std::vector<uint8_t> original(rest.begin(), rest.begin() + static_cast<long>(r.consumed));
        // Flags: only kFrameFlagSpans of a Reports frame is kept (its layout depends on it).
        original[2] = again[2] = 0;
        original[3] = again[3] = 0;
        check(again == original);
        rest = rest.subspan(r.consumed);
    }

    // 2. The same bytes through a FrameBuffer, in pieces whose size the first byte picks.
    const size_t piece = size == 0 ? 1 : 1 + data[0] % 61;
    FrameBuffer fb;
    std::vector<DecodeStatus> streamed;
    for (size_t at = 0; at < size; at += piece) {
        fb.append(input.subspan(at, std::min(piece, size - at)));
        while (true) {
            const DecodeResult r = fb.next();
            if (r.status == DecodeStatus::Ok) {
                streamed.push_back(r.status);
                continue;
            }
            if (r.status != DecodeStatus::NeedMore) {
                streamed.push_back(r.status);
            }
            break;
        }
        if (!streamed.empty() && streamed.back() != DecodeStatus::Ok) {
            break;
        }
    }
    if (streamed.empty() || streamed.back() == DecodeStatus::Ok) {
        streamed.push_back(DecodeStatus::NeedMore);
    }
    check(streamed == statuses);
    return 0;
}
