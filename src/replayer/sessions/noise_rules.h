// What differs on every run and is no regression: the noise rules of the comparison. Header
// names ignored by default (and by --ignore-header, unless --compare-header), regexes whose
// matches are removed from answer bodies (--ignore, RE2: linear time on any input), and JSON
// paths removed from JSON bodies (--ignore-json), compiled once and shared by every
// AnswerDigest (answer_digest.h) of a run.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tcpr::replay {

// What the user says is noise.
struct NoiseRules {
    std::vector<std::string> ignore_headers{};   // extra header names to ignore (any case)
    std::vector<std::string> compare_headers{};  // names to compare although ignored by default
    std::vector<std::string> ignore_body{};      // RE2 regexes; matches are removed from the body
    std::vector<std::string> ignore_json{};      // JSON paths removed from JSON bodies
};

// Header names ignored by default: they differ on every run (dates, ids, caches, tracing,
// proxies) or describe the transport, not the answer. content-length and transfer-encoding are
// here because the body is compared on its own (de-chunked), so a different framing of the same
// body is no difference. Vary is compared: the server's code or configuration sets it, and a
// change means caches will store the answer differently. Not ignored either: content-type,
// cache-control, location, content-encoding.
inline constexpr std::string_view kDefaultIgnoredHeaders[] = {
    // Times and validators of this very answer.
    "date", "expires", "last-modified", "age", "etag",
    // The server's software and timing, and its session cookies.
    "server", "x-runtime", "set-cookie",
    // Request and trace ids.
    "x-request-id", "x-correlation-id", "request-id", "x-trace-id", "traceparent", "tracestate",
    "x-amzn-trace-id", "x-amzn-requestid", "x-amz-request-id", "x-amz-id-2", "x-amz-cf-id",
    "cf-ray",
    // Caches and proxies on the way.
    "x-served-by", "x-cache", "x-cache-hits", "x-timer", "via",
    // The transport and the body's framing.
    "connection", "keep-alive", "content-length", "transfer-encoding"};

// Bodies longer than this are not buffered for the body rules: their digest is the plain one.
inline constexpr size_t kMaxNormalizedBody = size_t{4} << 20;
// JSON nested deeper than this is not parsed (treated as not JSON): no recursion on user input.
inline constexpr int kMaxJsonDepth = 256;

// NoiseRules compiled once (regexes, JSON paths, the header set) and then shared by pointer
// among every AnswerDigest; const and therefore safe to read from any thread.
//
// JSON paths remove members or elements from a parsed JSON body:
//   $.a.b          member b of member a of the root object
//   $.items[*].id  member id of every element of the array items (also $.a.* : every member)
//   $.items[0].ts  member ts of the first element of items
//   $..request_id  member request_id of any object at any depth
//   $['a.b']       a member whose name has dots or brackets ("..." works as well)
// A path that names nothing in a body removes nothing.
class CompiledNoiseRules {
  public:
    // The defaults: kDefaultIgnoredHeaders, no body rules.
    CompiledNoiseRules();
    // Throws tcpr::Error (ErrorKind::Usage) with one line naming the bad regex, JSON path or
    // header name. A name both ignored and compared is compared.
    static CompiledNoiseRules compile(const NoiseRules& rules);
    // The defaults, built once.
    static const CompiledNoiseRules& defaults();

    // `lower_name` is a lower-case header name.
    bool ignores_header(std::string_view lower_name) const;
    // Every ignored name, lower-case, sorted.
    const std::vector<std::string>& ignored_header_names() const { return ignored_; }
    // Regexes or JSON paths are set: answers' bodies are buffered and normalized.
    bool has_body_rules() const { return body_ != nullptr; }

    struct Normalized {
        std::string text;          // what is digested
        bool json = false;         // parsed as JSON: canonical text, the paths removed
        bool json_failed = false;  // JSON was expected but did not parse (or nests too deep)
    };
    // `body` with the rules applied: when `json`, parsed, the paths removed and re-serialised
    // canonically (sorted keys, no whitespace), then the regexes remove their matches (from the
    // serialised text, or from the raw body when it is not JSON). Never throws on bad input.
    Normalized normalize_body(std::string_view body, bool json) const;

  private:
    struct BodyRules;  // RE2 and JSON paths, only in the .cpp

    std::vector<std::string> ignored_;
    std::shared_ptr<const BodyRules> body_;
};

}  // namespace tcpr::replay
