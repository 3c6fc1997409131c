#include "common/metrics/http.h"

#include "common/metrics/exposition.h"

namespace tcpr::metrics {
namespace {

bool token_char(char c) {
    // RFC 9110 tchar.
    static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kExtra.find(c) != std::string_view::npos;
}

bool visible(char c) { return c > 0x20 && c < 0x7f; }

}  // namespace

HttpRequest classify_request(std::string_view received, size_t max_bytes) {
    size_t end = received.find("\r\n\r\n");
    const size_t lf_end = received.find("\n\n");
    if (end == std::string_view::npos || (lf_end != std::string_view::npos && lf_end < end)) {
        end = lf_end;
    }
    if (end == std::string_view::npos || end > max_bytes) {
        // A request line that is already not HTTP need not wait for its end.
        const size_t sp = received.find(' ');
        for (size_t i = 0; i < received.size() && i < (sp == std::string_view::npos ? 16 : sp);
             ++i) {
            if (!token_char(received[i])) {
                return HttpRequest::BadRequest;
            }
        }
        return received.size() > max_bytes ? HttpRequest::TooLarge : HttpRequest::NeedMore;
    }
    std::string_view line = received.substr(0, received.find('\n'));
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    const size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0) {
        return HttpRequest::BadRequest;
    }
    const size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1) {
        return HttpRequest::BadRequest;
    }
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    for (const char c : method) {
        if (!token_char(c)) {
            return HttpRequest::BadRequest;
        }
    }
    for (const char c : target) {
        if (!visible(c)) {
            return HttpRequest::BadRequest;
        }
    }
    if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' ||
        version[7] > '9') {
        return HttpRequest::BadRequest;
    }
    if (method != "GET" && method != "HEAD") {
        return HttpRequest::MethodNotAllowed;
    }
    const std::string_view path = target.substr(0, target.find('?'));
    if (path != "/metrics") {
        return HttpRequest::NotFound;
    }
    return method == "GET" ? HttpRequest::Metrics : HttpRequest::MetricsHead;
}

std::string http_response(int status, std::string_view reason, std::string_view content_type,
                          std::string_view body, bool head_only) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
    out += reason;
    out += "\r\nContent-Type: ";
    out += content_type;
    out += "\r\nContent-Length: " + std::to_string(body.size());
    if (status == 405) {
        out += "\r\nAllow: GET, HEAD";
    }
    out += "\r\nConnection: close\r\n\r\n";
    if (!head_only) {
        out += body;
    }
    return out;
}

std::string http_response(HttpRequest request, std::string_view metrics_text) {
    constexpr std::string_view kPlain = "text/plain; charset=utf-8";
    switch (request) {
        case HttpRequest::Metrics:
            return http_response(200, "OK", kContentType, metrics_text);
        case HttpRequest::MetricsHead:
            return http_response(200, "OK", kContentType, metrics_text, true);
        case HttpRequest::NotFound:
            return http_response(404, "Not Found", kPlain, "not found: try /metrics\n");
        case HttpRequest::MethodNotAllowed:
            return http_response(405, "Method Not Allowed", kPlain, "only GET and HEAD\n");
        case HttpRequest::TooLarge:
            return http_response(431, "Request Header Fields Too Large", kPlain,
                                 "request too large\n");
        case HttpRequest::BadRequest:
        case HttpRequest::NeedMore:
            break;
    }
    return http_response(400, "Bad Request", kPlain, "bad request\n");
}

}  // namespace tcpr::metrics
