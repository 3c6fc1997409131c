// Command-line value parsers shared by the programs (common/base/parse.h).
#include "common/base/parse.h"

#include <catch2/catch.hpp>

#include "common/base/error.h"

namespace tcpr {

TEST_CASE("wall-clock times: RFC 3339 and Unix seconds", "[parse]") {
    constexpr uint64_t kS = 1'000'000'000;
    CHECK(parse_wall_time("1796605200", "--start-at") == 1796605200 * kS);
    CHECK(parse_wall_time("1796605200.25", "--start-at") == 1796605200 * kS + kS / 4);
    // 2026-12-07T01:00:00Z is 1796605200 (timegm).
    CHECK(parse_wall_time("2026-12-07T01:00:00Z", "--start-at") == 1796605200 * kS);
    CHECK(parse_wall_time("2026-12-07t01:00:00z", "--start-at") == 1796605200 * kS);
    CHECK(parse_wall_time("2026-12-07 01:00:00.5Z", "--start-at") == 1796605200 * kS + kS / 2);
    CHECK(parse_wall_time("2026-12-07T02:30:00+01:30", "--start-at") == 1796605200 * kS);
    CHECK(parse_wall_time("2026-12-06T20:00:00-05:00", "--start-at") == 1796605200 * kS);
    for (const char* bad :
         {"", "tomorrow", "2026-12-07T01:00:00", "2026-12-07", "2026-13-01T00:00:00Z",
          "2026-02-30T00:00:00Z", "2026-12-07T24:00:00Z", "2026-12-07T01:00:00+1:00", "1796605200.",
          "1796605200.5.5", "-5", "1969-12-31T23:59:59Z", "2026-12-07T01:00:00Zjunk"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_wall_time(bad, "--start-at"), Error);
    }
    CHECK_THROWS_WITH(parse_wall_time("noon", "--start-at"),
                      "bad value 'noon' for --start-at (expected an RFC 3339 time like "
                      "2026-12-07T01:00:00Z or Unix seconds)");
}

}  // namespace tcpr
