// The little HTTP/1.1 the metrics endpoint speaks (os/metrics_server.h), as pure functions:
// what a received request head asks for, and the bytes of an answer. Every answer closes the
// connection (`Connection: close`); there is no keep-alive, no body and no chunking.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tcpr::metrics {

enum class HttpRequest {
    NeedMore,          // no end of the head yet ("\r\n\r\n" or "\n\n")
    Metrics,           // GET /metrics (a query string is ignored)
    MetricsHead,       // HEAD /metrics
    NotFound,          // GET or HEAD of another path: 404
    MethodNotAllowed,  // another method: 405
    BadRequest,        // not a request line "METHOD SP TARGET SP HTTP/1.x": 400
    TooLarge,          // no end of the head within max_bytes: 431
};

// What `received` (the bytes read so far) asks for. A request with a body (Content-Length,
// Transfer-Encoding) is answered as well: the body is never read.
HttpRequest classify_request(std::string_view received, size_t max_bytes);

// The whole answer: status line, Content-Type, Content-Length, Connection: close, the body
// (left out for HEAD, `head_only`).
std::string http_response(HttpRequest request, std::string_view metrics_text);
std::string http_response(int status, std::string_view reason, std::string_view content_type,
                          std::string_view body, bool head_only = false);

}  // namespace tcpr::metrics
