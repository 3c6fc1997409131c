// The intercept <-> replayer wire protocol: the one definition both programs use.
// Specified in docs/intercept-protocol.md. Big-endian, versioned, length-prefixed frames;
// decoding never reads past the frame and returns an outcome, never throws.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/net/flow_key.h"

namespace tcpr::wire {

// Version 2 added payloads and timestamps for the comparison report (docs/intercept-protocol.md,
// "Version 2"). A version-1 peer is refused with an Error it can read (framed as version 1).
constexpr uint8_t kProtocolVersion = 2;
constexpr uint8_t kLegacyVersion = 1;
constexpr uint16_t kDefaultPort = 36524;
constexpr size_t kHeaderBytes = 8;            // [ver u8][type u8][flags u16][length u32]
constexpr uint32_t kMaxBodyBytes = 1u << 20;  // larger frames are a protocol error
constexpr size_t kMaxPayloadHead = 64;        // payload bytes in a report by default
constexpr size_t kMaxPayloadBytes = 65535;    // payload bytes in a report, with kFeaturePayload

// Hello::features / HelloAck::features bits.
// Reports carry every captured payload byte (up to kMaxPayloadBytes), not only the first 64:
// the replayer compares answer bodies.
constexpr uint32_t kFeaturePayload = 1u << 0;
// The replayer understands Refused (a registration of a tuple another replayer holds): intercept
// sends it only to replayers that asked. Older replayers' refused registrations are only counted.
constexpr uint32_t kFeatureRefusals = 1u << 1;
// The replayer can answer a Challenge (HMAC-SHA256 with a shared key). An intercept with a key
// refuses, with a readable Error, a replayer that does not set it.
constexpr uint32_t kFeatureAuth = 1u << 2;
// Intercept may merge the data segments of one tuple that follow each other in sequence within
// one Reports frame into one report (the later ones' acknowledgement, window and flags, the
// head the merged payload would have, span_ns to the last one's capture time). With
// kFeaturePayload only while every payload is whole and the sum stays within
// kMaxPayloadBytes: a replayer comparing bodies still gets every byte. Such frames carry
// kFrameFlagSpans (docs/intercept-protocol.md, "Merged reports").
constexpr uint32_t kFeatureMerge = 1u << 3;
constexpr uint32_t kKnownFeatures =
    kFeaturePayload | kFeatureRefusals | kFeatureAuth | kFeatureMerge;
// Frame header flags. kFrameFlagSpans (Reports): every report ends with span_ns (u32).
constexpr uint16_t kFrameFlagSpans = 1u << 0;

// Challenge/Auth: the nonce and the HMAC-SHA256 proof (docs/intercept-protocol.md,
// "Authentication").
constexpr size_t kNonceBytes = 32;
constexpr size_t kMacBytes = 32;
constexpr uint8_t kAuthHmacSha256 = 1;  // Challenge::algorithm
// Refused::reason
constexpr uint8_t kRefusedHeldByOther = 1;  // another connected replayer holds the tuple

enum class MessageType : uint8_t {
    Hello = 1,       // replayer -> intercept, first message: version, name
    HelloAck = 2,    // intercept -> replayer: accepted (or Error + close)
    Register = 3,    // replayer -> intercept: tuples whose responses it wants
    Unregister = 4,  // replayer -> intercept: tuples it is done with
    Reports = 5,     // intercept -> replayer: a batch of captured response headers
    Ping = 6,        // either way, keeps idle connections alive
    Error = 7,       // intercept -> replayer: a reason, then the connection closes
    Refused = 8,     // intercept -> replayer (kFeatureRefusals): registrations not granted
    Challenge = 9,   // intercept -> replayer (intercept has a key): a nonce to prove the key
    Auth = 10,       // replayer -> intercept: HMAC-SHA256(key, nonce || Hello frame)
};

// A connection seen from the client side: client (the replayed source) and server (target).
struct Tuple {
    net::Endpoint client;
    net::Endpoint server;
    bool operator==(const Tuple&) const = default;
};
struct TupleHash {
    size_t operator()(const Tuple& t) const noexcept;
};

struct Hello {
    uint8_t version = kProtocolVersion;
    std::string name;       // e.g. "tcpreplay2 pid 1234"
    uint32_t features = 0;  // kFeature* bits the replayer asks for
};
struct HelloAck {
    uint8_t version = kProtocolVersion;
    uint32_t expiry_seconds = 0;  // registrations idle this long are dropped
    uint32_t features = 0;        // of the features asked for, those granted
};
struct Register {
    std::vector<Tuple> tuples;
};
struct Unregister {
    std::vector<Tuple> tuples;
};
struct Ping {
    uint64_t nonce = 0;
};
struct ErrorMsg {
    std::string reason;
};
// Tuples of a Register that intercept did not grant (reason: kRefusedHeldByOther).
struct Refused {
    uint8_t reason = kRefusedHeldByOther;
    std::vector<Tuple> tuples;
};
struct Challenge {
    uint8_t algorithm = kAuthHmacSha256;
    std::array<uint8_t, kNonceBytes> nonce{};
};
struct Auth {
    std::array<uint8_t, kMacBytes> mac{};
};

// One response packet from the target as intercept captured it (server -> client direction).
struct Report {
    uint64_t ts_ns = 0;  // capture time at intercept
    Tuple tuple;         // client = packet's destination, server = packet's source
    uint32_t seq = 0, ack = 0;
    uint16_t window = 0;
    uint8_t flags = 0;            // net::tcp_flags
    uint8_t window_scale = 0xff;  // from a SYN-ACK's option, 0xff = absent
    uint16_t mss = 0;             // from a SYN-ACK's option, 0 = absent
    uint32_t payload_len = 0;     // TCP payload length per the IP header
    // The first payload bytes: at most kMaxPayloadHead, or kMaxPayloadBytes for a replayer that
    // asked for kFeaturePayload (all of them unless the capture cut the packet).
    std::vector<uint8_t> payload_head;
    // Merged segments (kFeatureMerge): the last one's capture time - ts_ns. 0: one segment.
    uint32_t span_ns = 0;
};
struct Reports {
    std::vector<Report> reports;
    // Intercept's clock (ns since the Unix epoch, the clock of ts_ns) when the frame was made:
    // sent_ns - ts_ns is how long a report waited in intercept (0: unknown). On the wire it
    // comes first.
    uint64_t sent_ns = 0;
    // Framed with kFrameFlagSpans (every report carries span_ns): set by decode() from the
    // frame; encode() also sets it when a report has a span.
    bool spans = false;
};

using Message = std::variant<Hello, HelloAck, Register, Unregister, Reports, Ping, ErrorMsg,
                             Refused, Challenge, Auth>;

// Appends one framed message to `out`.
void encode(const Message& m, std::vector<uint8_t>& out);
std::vector<uint8_t> encode(const Message& m);
// An Error framed as version 1, for a version-1 peer to read why it is refused (the Error's
// layout is the same in both versions).
std::vector<uint8_t> encode_legacy_error(const std::string& reason);

enum class DecodeStatus {
    Ok,          // *message set, `consumed` bytes used
    NeedMore,    // not a whole frame yet: read more and call again
    BadVersion,  // frame from another protocol version: close the connection (a version-1
                 // Error is decoded: an old intercept's refusal, readable)
    BadType,     // unknown message type: close
    BadLength,   // frame length over kMaxBodyBytes: close
    Malformed,   // body does not match its type: close
};
const char* to_string(DecodeStatus s);

struct DecodeResult {
    DecodeStatus status = DecodeStatus::NeedMore;
    size_t consumed = 0;
    std::optional<Message> message;
};

// Decodes the first frame in `bytes` (a stream buffer that may hold part of a frame or several).
DecodeResult decode(std::span<const uint8_t> bytes);

// ---- Limits a sender keeps to (a frame's body never exceeds kMaxBodyBytes) ----

// An IPv6 tuple: 37 bytes (IPv4: 13).
constexpr size_t kMaxTupleBytes = 1 + 2 * (16 + 2);
// An IPv6 report with a full payload: 65,600 bytes (IPv4 without payload: 41); span_ns adds 4.
constexpr size_t kReportFixedBytes = 8 + 4 + 4 + 2 + 1 + 1 + 2 + 4 + 2;
constexpr size_t kMaxReportBytes = kReportFixedBytes + kMaxTupleBytes + kMaxPayloadBytes + 4;
// A Reports body holds its reports and 12 bytes (sent_ns, count).
constexpr size_t kReportsBodyOverhead = 12;
constexpr size_t kMaxTuplesPerFrame = 16384;  // per Register / Unregister
constexpr size_t kMaxReportsPerFrame = 4096;  // per Reports
constexpr size_t kMaxTextBytes = 1024;        // Hello name, Error reason

// ---- The intercept's batching path: encode reports one by one, frame them once ----

// Appends the encoding of one report (no frame header) to `body`, with at most `max_payload`
// payload bytes (kMaxPayloadHead, or kMaxPayloadBytes for a replayer with kFeaturePayload).
// With `span`, span_ns follows (a frame of kFeatureMerge: all its reports so encoded).
void append_report(const Report& r, std::vector<uint8_t>& body,
                   size_t max_payload = kMaxPayloadHead, bool span = false);
// The report encoded last in `body`, from `at` on, with span (a frame of kFeatureMerge), grows
// by the segment `next` that follows it in sequence: its payload_len adds next's, ack, window
// and span_ns become next's (span_ns: next's capture time minus the report's), flags add next's,
// and `more` bytes join the end of its head (the caller keeps the head within its limit).
void grow_report(std::vector<uint8_t>& body, size_t at, const Report& next, uint32_t span_ns,
                 std::span<const uint8_t> more);
// Appends a whole Reports frame holding `count` reports already encoded by append_report
// (at most kMaxBodyBytes - kReportsBodyOverhead bytes of them), all with or all without span.
void append_reports_frame(std::span<const uint8_t> encoded_reports, uint32_t count,
                          uint64_t sent_ns, std::vector<uint8_t>& out, bool spans = false);

// ---- Stream reassembly for a receiver ----

// Bytes read from a stream socket accumulate here; next() pops whole frames. After an error
// status (anything but Ok/NeedMore) the stream cannot be resynchronised: next() keeps returning
// that status and the connection must be closed.
class FrameBuffer {
  public:
    // Space for at least `min_bytes` more bytes; call commit(n) after writing n of them.
    std::span<uint8_t> writable(size_t min_bytes = 16384);
    void commit(size_t n);
    void append(std::span<const uint8_t> bytes);

    DecodeResult next();
    size_t buffered() const { return end_ - start_; }
    // Bytes still to come before the buffered frame is whole (its header read: its length; a
    // partial header: the rest of it); 0 when nothing is buffered.
    size_t missing() const;

  private:
    std::vector<uint8_t> buf_;
    size_t start_ = 0, end_ = 0;
    DecodeStatus failed_ = DecodeStatus::Ok;
};

}  // namespace tcpr::wire
