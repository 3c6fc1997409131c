// AnswerDigest: the body after an HTTP head, whatever the pieces it arrives in; the whole answer
// of another protocol; a lost piece makes it unknown. The noise rules: headers ignored or
// compared, body regexes, JSON paths, chunked bodies, and the bounds on hostile answers.
#include "replayer/sessions/answer_digest.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/base/error.h"
#include "common/base/hash.h"

namespace tcpr::replay {
namespace {

std::span<const uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

uint64_t digest_in_pieces(const std::string& text, size_t piece) {
    AnswerDigest d;
    for (size_t i = 0; i < text.size(); i += piece) {
        const std::string part = text.substr(i, piece);
        d.add(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(part.data()), part.size()));
    }
    return d.value();
}

// The whole answer in one piece.
AnswerDigest digest_of(std::string_view text, const CompiledNoiseRules* rules = nullptr) {
    AnswerDigest d(rules);
    d.add(bytes_of(text));
    return d;
}

std::string http(std::string_view headers, std::string_view body) {
    return "HTTP/1.1 200 OK\r\n" + std::string(headers) +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

std::string json_answer(std::string_view body) {
    return http("Content-Type: application/json; charset=utf-8\r\n", body);
}

// Everything a digest says about its answer, to compare two ways of feeding it.
struct Seen {
    uint64_t value, head;
    bool complete, head_complete, json_failed;
    std::vector<std::pair<std::string, uint64_t>> headers;
    bool operator==(const Seen&) const = default;
};

Seen seen(const AnswerDigest& d) {
    Seen s{d.value(), d.head_digest(), d.complete(), d.head_complete(), d.json_failed(), {}};
    for (const AnswerDigest::Header& h : d.headers()) {
        s.headers.emplace_back(std::string(h.name), h.value_hash);
    }
    return s;
}

// Splits `text` at every position (and at every pair of positions when it is short): the
// digests are those of the whole.
void check_every_split(const std::string& text, const CompiledNoiseRules* rules) {
    const Seen whole = seen(digest_of(text, rules));
    const std::string_view t = text;
    for (size_t i = 0; i <= t.size(); ++i) {
        AnswerDigest d(rules);
        d.add(bytes_of(t.substr(0, i)));
        d.add(bytes_of(t.substr(i)));
        CAPTURE(i);
        REQUIRE(seen(d) == whole);
    }
    if (t.size() > 200) {
        return;
    }
    for (size_t i = 0; i <= t.size(); ++i) {
        for (size_t j = i; j <= t.size(); ++j) {
            AnswerDigest d(rules);
            d.add(bytes_of(t.substr(0, i)));
            d.add(bytes_of(t.substr(i, j - i)));
            d.add(bytes_of(t.substr(j)));
            CAPTURE(i, j);
            REQUIRE(seen(d) == whole);
        }
    }
}

std::string error_of(const NoiseRules& rules) {
    try {
        CompiledNoiseRules::compile(rules);
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Usage);
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("answer digests cover HTTP bodies, not heads", "[replay][digest][answer_digest]") {
    const std::string a = "HTTP/1.1 200 OK\r\nDate: Mon\r\nETag: \"1\"\r\n\r\nhello, body";
    const std::string b = "HTTP/1.1 200 OK\r\nDate: Tue\r\nETag: \"2\"\r\nX: y\r\n\r\nhello, body";
    const std::string c = "HTTP/1.1 200 OK\r\nDate: Mon\r\n\r\nhello, BODY";
    for (size_t piece : {1u, 3u, 7u, 64u}) {
        CAPTURE(piece);
        CHECK(digest_in_pieces(a, piece) == digest_in_pieces(b, 64));
        CHECK(digest_in_pieces(a, piece) != digest_in_pieces(c, 64));
    }
    // Another protocol: every byte counts.
    CHECK(digest_in_pieces("+OK\r\n", 2) == digest_in_pieces("+OK\r\n", 5));
    CHECK(digest_in_pieces("$3\r\nabc\r\n", 4) != digest_in_pieces("$3\r\nabd\r\n", 4));
    CHECK(digest_in_pieces("ab", 1) != digest_in_pieces("abc", 1));
    CHECK(digest_in_pieces("", 1) != 0);
    // Content-Length tells a whole body from a partial one.
    AnswerDigest partial;
    const std::string head = "HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 10\r\n\r\n01234";
    partial.add(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(head.data()), head.size()));
    CHECK_FALSE(partial.complete());
    partial.add(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("56789"), 5));
    CHECK(partial.complete());
    AnswerDigest lost;
    CHECK(lost.known());
    lost.lose();
    CHECK_FALSE(lost.known());
}

TEST_CASE("head digest: the headers compared, in any order", "[replay][answer_digest]") {
    const std::string a = http(
        "Date: Mon, 01 Jan 2024 10:00:00 GMT\r\nServer: nginx/1.22\r\nETag: \"1\"\r\n"
        "Content-Type: text/html\r\nCache-Control: no-cache\r\n",
        "body");
    const std::string b = http(
        "Cache-Control:   no-cache  \r\nETAG: \"2\"\r\ncontent-type: text/html\r\n"
        "Date: Tue, 02 Jan 2024 11:00:00 GMT\r\nServer: nginx/1.24\r\n",
        "body");
    const std::string c = http(
        "Date: Mon, 01 Jan 2024 10:00:00 GMT\r\nServer: nginx/1.22\r\nETag: \"1\"\r\n"
        "Content-Type: text/plain\r\nCache-Control: no-cache\r\n",
        "body");
    const AnswerDigest da = digest_of(a);
    CHECK(da.head_complete());
    CHECK(da.head_digest() != 0);
    CHECK(da.head_digest() == digest_of(b).head_digest());
    CHECK(da.head_digest() != digest_of(c).head_digest());
    CHECK(da.value() == digest_of(c).value());  // the body is the same
    // A compared header added, or repeated, is a difference.
    CHECK(da.head_digest() != digest_of(http("X-New: 1\r\n", "body")).head_digest());
    CHECK(digest_of(http("X-A: 1\r\n", "")).head_digest() !=
          digest_of(http("X-A: 1\r\nX-A: 1\r\n", "")).head_digest());
    // Name and value are not confused.
    CHECK(digest_of(http("X-Ab: c\r\n", "")).head_digest() !=
          digest_of(http("X-A: bc\r\n", "")).head_digest());
    // Another protocol, or nothing yet: 0.
    CHECK(digest_of("+OK\r\n").head_digest() == 0);
    CHECK(digest_of("HTT").head_digest() == 0);
    CHECK_FALSE(digest_of("HTTP/1.1 200 OK\r\nX: 1\r\n").head_complete());
}

TEST_CASE("noise rules: ignore more headers, compare a default one", "[replay][answer_digest]") {
    const CompiledNoiseRules defaults;
    CHECK(defaults.ignores_header("date"));
    CHECK(defaults.ignores_header("content-length"));
    CHECK_FALSE(defaults.ignores_header("vary"));
    CHECK_FALSE(defaults.ignores_header("content-type"));
    CHECK(std::is_sorted(defaults.ignored_header_names().begin(),
                         defaults.ignored_header_names().end()));
    CHECK(defaults.ignored_header_names().size() == std::size(kDefaultIgnoredHeaders));
    CHECK_FALSE(defaults.has_body_rules());

    const CompiledNoiseRules rules = CompiledNoiseRules::compile(
        {.ignore_headers = {" X-Build-Id ", "DATE"}, .compare_headers = {"ETag"}});
    CHECK(rules.ignores_header("x-build-id"));
    CHECK(rules.ignores_header("date"));
    CHECK_FALSE(rules.ignores_header("etag"));
    CHECK_FALSE(rules.has_body_rules());
    const std::string a = http("ETag: \"1\"\r\nX-Build-Id: 7\r\n", "x");
    const std::string b = http("ETag: \"2\"\r\nX-Build-Id: 8\r\n", "x");
    const std::string c = http("ETag: \"1\"\r\nX-Build-Id: 9\r\n", "x");
    // Defaults: the ETag is ignored, X-Build-Id compared.
    CHECK(digest_of(a).head_digest() != digest_of(c).head_digest());
    CHECK(digest_of(a).head_digest() != digest_of(b).head_digest());
    // The rules: the other way round.
    CHECK(digest_of(a, &rules).head_digest() == digest_of(c, &rules).head_digest());
    CHECK(digest_of(a, &rules).head_digest() != digest_of(b, &rules).head_digest());
    // Only ETag differs for the defaults between a and a with another ETag.
    const std::string a2 = http("ETag: \"9\"\r\nX-Build-Id: 7\r\n", "x");
    CHECK(digest_of(a).head_digest() == digest_of(a2).head_digest());
    CHECK(digest_of(a, &rules).head_digest() != digest_of(a2, &rules).head_digest());
}

TEST_CASE("differing_headers names exactly the headers that differ", "[replay][answer_digest]") {
    const AnswerDigest a =
        digest_of(http("Date: Mon\r\nContent-Type: text/html\r\nX-A: 1\r\nX-B: 2\r\n"
                       "Set-Cookie: s=1\r\nSet-Cookie: t=2\r\n",
                       "same"));
    const AnswerDigest b =
        digest_of(http("Set-Cookie: t=2\r\nContent-Type:text/html\r\nX-A: 3\r\nDate: Tue\r\n"
                       "X-C: 4\r\nSet-Cookie: s=1\r\n",
                       "same"));
    CHECK(differing_headers(a, b) == std::vector<std::string>{"date", "x-a", "x-b", "x-c"});
    CHECK(differing_headers(b, a) == differing_headers(a, b));
    CHECK(differing_headers(a, a).empty());
    // A value of a repeated header changed.
    const AnswerDigest c = digest_of(http("Set-Cookie: s=1\r\nSet-Cookie: t=3\r\n", ""));
    const AnswerDigest d = digest_of(http("Set-Cookie: s=1\r\nSet-Cookie: t=2\r\n", ""));
    CHECK(differing_headers(c, d) == std::vector<std::string>{"set-cookie"});
    // headers() lists every header, ignored ones too, lower-cased, in order.
    const std::vector<AnswerDigest::Header> h = a.headers();
    REQUIRE(h.size() == 7);
    CHECK(h[0].name == "date");
    CHECK(h[1].name == "content-type");
    CHECK(h[6].name == "content-length");
}

TEST_CASE("digests do not depend on where the bytes are split", "[replay][answer_digest]") {
    const CompiledNoiseRules rules = CompiledNoiseRules::compile(
        {.ignore_body = {R"(\d{2}:\d{2}:\d{2})"}, .ignore_json = {"$.meta.request_id"}});
    const std::string plain =
        http("Date: Mon\r\nX-A:  1 \r\nContent-Type: text/plain\r\n", "at 10:00:01 hello");
    const std::string json =
        json_answer(R"({"b": 1, "meta": {"request_id": "r1", "t": "10:00:00"}, "a": [1, 2]})");
    const std::string chunked =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
        "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
    const std::string resp = "$11\r\nhello 10:00\r\n";
    for (const CompiledNoiseRules* r : {static_cast<const CompiledNoiseRules*>(nullptr), &rules}) {
        CAPTURE(r != nullptr);
        check_every_split(plain, r);
        check_every_split(json, r);
        check_every_split(chunked, r);
        check_every_split(resp, r);
    }
}

TEST_CASE("body regexes remove what differs on every run", "[replay][answer_digest]") {
    const CompiledNoiseRules rules = CompiledNoiseRules::compile(
        {.ignore_body = {R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)", "id=[0-9a-f]+"}});
    CHECK(rules.has_body_rules());
    const std::string a = http("", "<p>generated 2024-01-01T10:00:00Z id=ab12</p>");
    const std::string b = http("", "<p>generated 2024-03-05T23:59:59.123Z id=ffff00</p>");
    const std::string c = http("", "<p>GENERATED 2024-01-01T10:00:00Z id=ab12</p>");
    CHECK(digest_of(a).value() != digest_of(b).value());
    const AnswerDigest da = digest_of(a, &rules);
    CHECK(da.normalized());
    CHECK_FALSE(da.too_large());
    CHECK_FALSE(da.json_failed());
    CHECK(da.value() == digest_of(b, &rules).value());
    CHECK(da.value() != digest_of(c, &rules).value());
    CHECK(da.value() == da.value());  // cached, stable
    // The digest is that of the body with the matches removed.
    CHECK(da.value() == digest_of(http("", "<p>generated  </p>")).value());
    // Another protocol: the raw bytes, regexes applied.
    CHECK(digest_of("+id=1 ok\r\n", &rules).value() == digest_of("+id=22 ok\r\n", &rules).value());
    CHECK(digest_of("+1", &rules).value() == digest_of("+1").value());  // shorter than 5 bytes
}

TEST_CASE("body regexes that match the empty string end", "[replay][answer_digest]") {
    const CompiledNoiseRules rules =
        CompiledNoiseRules::compile({.ignore_body = {"x*", "", "(?:)", "^", "$", "\\b"}});
    const AnswerDigest d = digest_of(http("", "axxbxc, and é"), &rules);
    CHECK(d.value() == digest_of(http("", "abc, and é")).value());
    const AnswerDigest e = digest_of(http("", ""), &rules);
    CHECK(e.value() == digest_of(http("", "")).value());
}

TEST_CASE("JSON bodies: key order, whitespace and removed paths are no difference",
          "[replay][answer_digest]") {
    const CompiledNoiseRules rules =
        CompiledNoiseRules::compile({.ignore_json = {"$.meta.request_id", "$.items[*].ts"}});
    const std::string base = json_answer(
        R"({"meta":{"request_id":"a1","page":1},"items":[{"id":1,"ts":100},{"id":2,"ts":101}]})");
    const std::string same = json_answer(R"({
        "items": [ {"ts": 555, "id": 1}, {"id": 2, "ts": 556} ],
        "meta": { "page": 1, "request_id": "zz" }
    })");
    const std::string other_id = json_answer(
        R"({"meta":{"request_id":"a1","page":1},"items":[{"id":1,"ts":100},{"id":3,"ts":101}]})");
    const std::string other_page = json_answer(
        R"({"meta":{"request_id":"a1","page":2},"items":[{"id":1,"ts":100},{"id":2,"ts":101}]})");
    const std::string more = json_answer(
        R"({"meta":{"request_id":"a1","page":1},"items":[{"id":1,"ts":100},{"id":2,"ts":101}],"x":0})");
    const AnswerDigest d = digest_of(base, &rules);
    CHECK(d.normalized());
    CHECK_FALSE(d.json_failed());
    CHECK(d.value() == digest_of(same, &rules).value());
    CHECK(d.value() != digest_of(other_id, &rules).value());
    CHECK(d.value() != digest_of(other_page, &rules).value());
    CHECK(d.value() != digest_of(more, &rules).value());
    CHECK(digest_of(base).value() != digest_of(same).value());  // without rules: bytes

    const CompiledNoiseRules::Normalized n = rules.normalize_body(
        R"({"meta":{"request_id":"a1","page":1},"items":[{"id":1,"ts":100}]})", true);
    CHECK(n.json);
    CHECK(n.text == R"({"items":[{"id":1}],"meta":{"page":1}})");

    SECTION("index, any depth, member wildcard, quoted names") {
        const CompiledNoiseRules more_rules = CompiledNoiseRules::compile(
            {.ignore_json = {"$.items[0].ts", "$..request_id", "$.free.*", "$['a.b']"}});
        const CompiledNoiseRules::Normalized m = more_rules.normalize_body(
            R"({"request_id":1,"items":[{"ts":1,"k":{"request_id":2}},{"ts":2}],)"
            R"("free":{"x":1,"y":[2]},"a.b":3,"a":{"b":4}})",
            true);
        CHECK(m.text == R"({"a":{"b":4},"free":{},"items":[{"k":{}},{"ts":2}]})");
    }
    SECTION("the Content-Type says JSON, or it is not parsed") {
        const std::string text = http("Content-Type: text/plain\r\n", R"({"b":1,"a":2})");
        const std::string swapped = http("Content-Type: text/plain\r\n", R"({"a":2,"b":1})");
        CHECK(digest_of(text, &rules).value() != digest_of(swapped, &rules).value());
        CHECK(digest_of("{\"b\":1,\"a\":2}\r\n", &rules).value() !=
              digest_of("{\"a\":2,\"b\":1}\r\n", &rules).value());
    }
}

TEST_CASE("JSON that does not parse falls back to the raw body", "[replay][answer_digest]") {
    const CompiledNoiseRules rules =
        CompiledNoiseRules::compile({.ignore_body = {"ts=[0-9]+"}, .ignore_json = {"$.ts"}});
    const AnswerDigest a = digest_of(json_answer(R"({"a": 1, ts=123)"), &rules);
    const AnswerDigest b = digest_of(json_answer(R"({"a": 1, ts=456)"), &rules);
    CHECK(a.json_failed());
    CHECK(a.normalized());
    CHECK(a.value() == b.value());  // the regexes still apply
    CHECK(a.value() == digest_of(json_answer(R"({"a": 1, )")).value());
    CHECK(a.value() != digest_of(json_answer(R"({"a": 2, ts=123)"), &rules).value());
    // Bad UTF-8 inside a string is not JSON either (and nothing throws).
    CHECK(digest_of(json_answer("{\"a\":\"\xff\"}"), &rules).json_failed());
    // An empty body is not a JSON failure.
    CHECK_FALSE(digest_of(json_answer(""), &rules).json_failed());
}

TEST_CASE("deeply nested JSON is not parsed, and crashes nothing", "[replay][answer_digest]") {
    const CompiledNoiseRules rules = CompiledNoiseRules::compile({.ignore_json = {"$..id"}});
    const std::string deep(100000, '[');
    const AnswerDigest d = digest_of(json_answer(deep), &rules);
    CHECK(d.json_failed());
    CHECK(d.value() == digest_of(json_answer(deep)).value());
    const std::string closed = std::string(100000, '[') + std::string(100000, ']');
    CHECK(digest_of(json_answer(closed), &rules).json_failed());
    const std::string objects = [] {
        std::string s;
        for (int i = 0; i < 50000; ++i) {
            s += R"({"id":1,"a":)";
        }
        return s;
    }();
    CHECK(digest_of(json_answer(objects), &rules).json_failed());
    // Within the limit it is parsed; brackets inside strings do not count.
    const std::string ok = std::string(kMaxJsonDepth - 1, '[') + R"({"id":1,"s":"[[[[[[[[[[[[["})" +
                           std::string(kMaxJsonDepth - 1, ']');
    const AnswerDigest o = digest_of(json_answer(ok), &rules);
    CHECK_FALSE(o.json_failed());
    const std::string ok2 = std::string(kMaxJsonDepth - 1, '[') + R"({"s":"[[[[[[[[[[[[["})" +
                            std::string(kMaxJsonDepth - 1, ']');
    CHECK(o.value() == digest_of(json_answer(ok2), &rules).value());
}

TEST_CASE("a body too large for the rules gets the plain digest", "[replay][answer_digest]") {
    const CompiledNoiseRules rules = CompiledNoiseRules::compile({.ignore_body = {"a+"}});
    const std::string big = json_answer(std::string(5u << 20, 'a'));
    AnswerDigest d(&rules);
    // In pieces, as segments come.
    for (size_t i = 0; i < big.size(); i += 65536) {
        d.add(bytes_of(std::string_view(big).substr(i, 65536)));
    }
    CHECK(d.complete());
    CHECK(d.too_large());
    CHECK_FALSE(d.normalized());
    CHECK_FALSE(d.json_failed());
    CHECK(d.body_bytes() == (5u << 20));
    CHECK(d.value() == digest_of(big).value());
    // At the limit itself it is still normalized.
    const AnswerDigest e = digest_of(http("", std::string(kMaxNormalizedBody, 'a')), &rules);
    CHECK(e.normalized());
    CHECK(e.value() == digest_of(http("", "")).value());
}

TEST_CASE("chunked bodies are digested de-chunked", "[replay][answer_digest]") {
    const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string one = head + "b\r\nhello world\r\n0\r\n\r\n";
    const std::string three = head + "5\r\nhello\r\n1;name=\"x\"\r\n \r\n5\r\nworld\r\n0\r\n\r\n";
    const std::string trailer = head + "000B\r\nhello world\r\n0\r\nExpires: x\r\nA: b\r\n\r\n";
    const AnswerDigest d = digest_of(one);
    CHECK(d.complete());
    CHECK(d.body_bytes() == 11);
    CHECK_FALSE(d.chunk_error());
    CHECK(d.value() == digest_of(three).value());
    CHECK(d.value() == digest_of(trailer).value());
    CHECK(d.value() == digest_of(http("", "hello world")).value());
    CHECK(d.value() != digest_of(head + "b\r\nhello World\r\n0\r\n\r\n").value());
    CHECK(digest_of(trailer).complete());

    // Complete only once the last chunk and the trailer's empty line are in.
    AnswerDigest p;
    const std::string_view t = three;
    const size_t end = t.size();
    for (size_t i = 0; i < end; ++i) {
        p.add(bytes_of(t.substr(i, 1)));
        CAPTURE(i);
        if (i >= head.size()) {  // before Transfer-Encoding is read no length is known
            CHECK(p.complete() == (i + 1 == end));
        }
    }
    // After the end: nothing of this answer.
    p.add(bytes_of("garbage"));
    CHECK(p.value() == d.value());
    // Chunked wins over a Content-Length.
    const AnswerDigest both = digest_of(
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        "b\r\nhello world\r\n0\r\n\r\n");
    CHECK(both.complete());
    CHECK(both.value() == d.value());
    // Broken framing: never complete, still digested.
    const AnswerDigest broken = digest_of(head + "zz\r\nhello\r\n0\r\n\r\n");
    CHECK(broken.chunk_error());
    CHECK_FALSE(broken.complete());
    const AnswerDigest no_crlf = digest_of(head + "5\r\nhelloXX0\r\n\r\n");
    CHECK(no_crlf.chunk_error());
    CHECK_FALSE(no_crlf.complete());
    CHECK_FALSE(digest_of(head + "\r\n").complete());  // a size line without digits
    CHECK_FALSE(digest_of(head + "fffffffffffffffffff\r\n").complete());
    // With body rules, the de-chunked body is normalized.
    const CompiledNoiseRules rules = CompiledNoiseRules::compile({.ignore_body = {"world"}});
    CHECK(digest_of(three, &rules).value() == digest_of(http("", "hello "), &rules).value());
}

TEST_CASE("hostile heads are bounded", "[replay][answer_digest]") {
    // A head line longer than the per-line buffer: its first bytes count, the rest is dropped.
    const std::string long_value(3 * AnswerDigest::kMaxHeadLine, 'v');
    const AnswerDigest d = digest_of(http("X-Long: " + long_value + "\r\n", "b"));
    CHECK(d.long_head_lines() == 1);
    CHECK(d.head_complete());
    CHECK(d.complete());
    CHECK(d.value() == digest_of(http("", "b")).value());
    CHECK(d.head_digest() ==
          digest_of(http("X-Long: " + long_value + "tail\r\n", "b")).head_digest());
    // Many headers: the first kMaxHeaders count, kMaxListedHeaders are listed.
    std::string many;
    for (int i = 0; i < 1000; ++i) {
        many += "X-" + std::to_string(i) + ": 1\r\n";
    }
    const AnswerDigest m = digest_of(http(many, "b"));
    CHECK(m.headers().size() == AnswerDigest::kMaxListedHeaders);
    CHECK(m.dropped_headers() == 1001 - AnswerDigest::kMaxHeaders);
    CHECK(m.unlisted_headers() == 1001 - AnswerDigest::kMaxListedHeaders);
    CHECK(m.complete());  // the Content-Length after the limit is still read
    // A head that never ends, a header without a colon, a long name.
    const AnswerDigest open =
        digest_of("HTTP/1.1 200 OK\r\nno colon here\r\n" + std::string(100000, 'x'));
    CHECK_FALSE(open.head_complete());
    CHECK(open.headers().size() == 1);
    CHECK(open.headers()[0].name == "no colon here");
    const AnswerDigest name = digest_of(http(std::string(1000, 'N') + ": 1\r\n", ""));
    CHECK(name.headers()[0].name == std::string(AnswerDigest::kMaxHeaderName, 'n'));
    // HEAD answers, 204 and 304: a Content-Length but no body; not complete, no crash.
    const AnswerDigest head = digest_of("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n");
    CHECK_FALSE(head.complete());
    CHECK(head.value() != 0);
}

TEST_CASE("bad rules are one clear error naming them", "[replay][answer_digest]") {
    CHECK(error_of({.ignore_body = {"ok", "a(b"}}).find("bad regex 'a(b'") != std::string::npos);
    CHECK(error_of({.ignore_body = {"[z-a]"}}).find("'[z-a]'") != std::string::npos);
    for (const char* path :
         {"a.b", "$", "$.", "$.a..", "$[x]", "$[1", "$.a[*", "$['a]", "$..*", "$..a..b", "$a"}) {
        CAPTURE(path);
        const std::string e = error_of({.ignore_json = {path}});
        CHECK(e.find(std::string("bad JSON path '") + path + "'") != std::string::npos);
        CHECK(e.find('\n') == std::string::npos);
    }
    CHECK(error_of({.ignore_headers = {"a b"}}).find("'a b'") != std::string::npos);
    CHECK(error_of({.compare_headers = {"date:"}}).find("'date:'") != std::string::npos);
    CHECK(error_of({.ignore_headers = {""}}).find("bad header name") != std::string::npos);
    // Good ones compile.
    CHECK(error_of({.ignore_body = {"x"},
                    .ignore_json = {"$.a.b", "$.items[*].id", "$.items[0].ts", "$..request_id",
                                    "$.a.*", "$[\"x.y\"][2]"}}) == "(no error)");
}

TEST_CASE("a digest reset for the next answer is a new digest", "[answer_digest]") {
    const std::string a =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
    const std::string b = "HTTP/1.1 404 Not Found\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nbye";
    auto feed = [](AnswerDigest& d, const std::string& text) {
        d.add(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    };
    AnswerDigest reused;
    feed(reused, a);
    reused.lose();
    reused.reset(nullptr);
    feed(reused, b);
    AnswerDigest fresh;
    feed(fresh, b);
    CHECK(reused.known());
    CHECK(reused.complete());
    CHECK(reused.value() == fresh.value());
    CHECK(reused.head_digest() == fresh.head_digest());
    CHECK(reused.headers().size() == fresh.headers().size());
}

}  // namespace tcpr::replay

namespace tcpr::replay {

TEST_CASE("the streaming digest takes whole words at once and gives the byte-at-a-time value",
          "[digest]") {
    // The digest as documented: bytes big-endian into 64-bit words, each whole word mixed,
    // then the partial word and the length (0 is never a value).
    const auto reference = [](const std::string& s) {
        uint64_t h = 0x9e3779b97f4a7c15ULL, word = 0, n = 0;
        for (const char c : s) {
            word = (word << 8) | static_cast<uint8_t>(c);
            if (++n % 8 == 0) {
                h = mix64(h ^ word);
                word = 0;
            }
        }
        const uint64_t v = mix64((n % 8 != 0 ? mix64(h ^ word) : h) ^ n);
        return v != 0 ? v : 1;
    };
    std::string body;
    for (int i = 0; i < 1000; ++i) {
        body.push_back(static_cast<char>((i * 131 + 7) % 251));  // not "HTTP/": all body
    }
    for (const size_t len : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 17u, 63u, 64u, 65u, 1000u}) {
        const std::string s = body.substr(0, len);
        for (const size_t piece : {1u, 3u, 5u, 8u, 13u, 64u, 1000u}) {
            CAPTURE(len, piece);
            CHECK(digest_in_pieces(s, piece) == reference(s));
        }
    }
}

}  // namespace tcpr::replay
