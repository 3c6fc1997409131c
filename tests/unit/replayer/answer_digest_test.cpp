// AnswerDigest: the body after an HTTP head, whatever the pieces it arrives in; the whole answer
// of another protocol; a lost piece makes it unknown.
#include "replayer/sessions/answer_digest.h"

#include <string>

#include <catch2/catch.hpp>

namespace tcpr::replay {
namespace {

uint64_t digest_in_pieces(const std::string& text, size_t piece) {
    AnswerDigest d;
    for (size_t i = 0; i < text.size(); i += piece) {
        const std::string part = text.substr(i, piece);
        d.add(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(part.data()), part.size()));
    }
    return d.value();
}

}  // namespace

TEST_CASE("answer digests cover HTTP bodies, not heads", "[replay][digest]") {
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

}  // namespace tcpr::replay
