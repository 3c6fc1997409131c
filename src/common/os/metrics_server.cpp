#include "common/os/metrics_server.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/base/error.h"
#include "common/metrics/http.h"
#include "common/net/address_parse.h"
#include "common/os/resolve.h"
#include "common/os/sockaddr.h"

namespace tcpr::os {
namespace {

// Sent to a connection over max_clients, best effort (nonblocking), before closing it.
constexpr std::string_view kBusy =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 5\r\nConnection: close\r\n\r\nbusy\n";

}  // namespace

MetricsServer::MetricsServer(const net::Endpoint& at, Render render, MetricsServerOptions options)
    : opt_(options), render_(std::move(render)) {
    if (opt_.max_clients == 0 || opt_.max_clients > kMaxClients) {
        opt_.max_clients = std::min(std::max<size_t>(opt_.max_clients, 1), kMaxClients);
    }
    slots_.resize(opt_.max_clients);
    sockaddr_storage ss{};
    const socklen_t len = to_sockaddr(at, ss);
    const auto fail = [&](int err) {
        throw Error(err == EACCES ? ErrorKind::Permission : ErrorKind::Network,
                    "cannot listen on " + at.to_string() + ": " + std::strerror(err));
    };
    listener_ =
        UniqueFd::adopt(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!listener_) {
        fail(errno);
    }
    const int one = 1;
    ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6) {
        ::setsockopt(listener_.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0 ||
        ::listen(listener_.get(), 16) != 0) {
        fail(errno);
    }
    const auto local = local_endpoint_of(listener_.get());
    local_ = local ? *local : at;
}

net::Endpoint parse_metrics_endpoint(const std::string& text, const std::string& option) {
    const auto bad = [&] {
        return Error(ErrorKind::Usage, "bad value '" + text + "' for " + option +
                                           " (expected ADDR:PORT such as 127.0.0.1:9464)");
    };
    HostPort hp;
    try {
        hp = split_host_port(text, option);
    } catch (const Error&) {
        throw bad();
    }
    const auto addr = net::IpAddress::parse(hp.host);
    if (!addr || !hp.port || *hp.port == 0) {
        throw bad();
    }
    return net::Endpoint{*addr, *hp.port};
}

MetricsServer::~MetricsServer() { detach(); }

void MetricsServer::detach() {
    for (size_t i = 0; i < slots_.size(); ++i) {
        close_slot(i);
    }
    if (epoll_ != nullptr) {
        epoll_->remove(listener_.get());
        epoll_ = nullptr;
    }
}

void MetricsServer::attach(Epoll& epoll, uint64_t first_tag) {
    epoll_ = &epoll;
    first_tag_ = first_tag;
    epoll.add(listener_.get(), Epoll::kReadable, first_tag_);
}

size_t MetricsServer::clients() const {
    size_t n = 0;
    for (const auto& c : slots_) {
        n += c ? 1 : 0;
    }
    return n;
}

void MetricsServer::on_event(const Epoll::Event& event, SteadyTime now) {
    if (event.tag == first_tag_) {
        on_accept(now);
    } else if (owns(event.tag)) {
        on_client(static_cast<size_t>(event.tag - first_tag_ - 1), event);
    }
}

void MetricsServer::on_accept(SteadyTime now) {
    for (int i = 0; i < 16; ++i) {
        UniqueFd fd = UniqueFd::adopt(
            ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) {
            return;  // none waiting (EAGAIN), or a transient failure: the next event retries
        }
        size_t slot = 0;
        while (slot < slots_.size() && slots_[slot]) {
            ++slot;
        }
        if (slot == slots_.size()) {
            ++stats_.busy;
            [[maybe_unused]] const ssize_t n =
                ::send(fd.get(), kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            continue;  // closed here
        }
        auto c = std::make_unique<Client>();
        c->fd = std::move(fd);
        c->deadline = now + opt_.timeout;
        epoll_->add(c->fd.get(), Epoll::kReadable, first_tag_ + 1 + slot);
        slots_[slot] = std::move(c);
    }
}

void MetricsServer::on_client(size_t slot, const Epoll::Event& event) {
    Client* c = slot < slots_.size() ? slots_[slot].get() : nullptr;
    if (c == nullptr) {
        return;
    }
    if (event.writable && !c->answered) {
        write_out(slot);
        return;
    }
    if (!event.readable && !event.hangup) {
        return;
    }
    char buf[4096];
    while (true) {
        const ssize_t n = ::recv(c->fd.get(), buf, sizeof buf, 0);
        if (n > 0) {
            if (c->answered || !c->out.empty()) {
                continue;  // after the request: discarded until the peer closes
            }
            c->in.append(buf, static_cast<size_t>(n));
            if (c->in.size() > opt_.max_request_bytes + 1) {
                c->in.resize(opt_.max_request_bytes + 1);
            }
            const auto what = metrics::classify_request(c->in, opt_.max_request_bytes);
            if (what != metrics::HttpRequest::NeedMore) {
                answer(slot);
                if (slots_[slot] == nullptr) {
                    return;
                }
            }
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n == 0 && !c->answered && !c->out.empty()) {
            return;  // the peer is done sending; the answer still goes out (writable)
        }
        close_slot(slot);  // end of stream (or an error): a request never finished, or done
        return;
    }
}

void MetricsServer::answer(size_t slot) {
    Client& c = *slots_[slot];
    const auto what = metrics::classify_request(c.in, opt_.max_request_bytes);
    switch (what) {
        case metrics::HttpRequest::Metrics:
        case metrics::HttpRequest::MetricsHead:
            ++stats_.scrapes;
            c.out = metrics::http_response(what, render_());
            break;
        case metrics::HttpRequest::NotFound:
        case metrics::HttpRequest::MethodNotAllowed:
            ++stats_.not_found;
            c.out = metrics::http_response(what, {});
            break;
        default:
            ++stats_.bad_requests;
            c.out = metrics::http_response(what, {});
            break;
    }
    c.in.clear();
    c.in.shrink_to_fit();
    write_out(slot);
}

void MetricsServer::write_out(size_t slot) {
    Client& c = *slots_[slot];
    while (c.out_done < c.out.size()) {
        const ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_done, c.out.size() - c.out_done,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c.out_done += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            epoll_->modify(c.fd.get(), Epoll::kWritable, first_tag_ + 1 + slot);
            return;
        }
        close_slot(slot);
        return;
    }
    // All sent: FIN, then read (and discard) until the peer closes, so unread request bytes do
    // not turn the close into a reset that could discard the answer.
    c.answered = true;
    c.out.clear();
    c.out.shrink_to_fit();
    ::shutdown(c.fd.get(), SHUT_WR);
    epoll_->modify(c.fd.get(), Epoll::kReadable, first_tag_ + 1 + slot);
}

void MetricsServer::on_timer(SteadyTime now) {
    for (size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i] && now >= slots_[i]->deadline) {
            if (!slots_[i]->answered) {
                ++stats_.timed_out;
            }
            close_slot(i);
        }
    }
}

void MetricsServer::close_slot(size_t slot) {
    if (slot >= slots_.size() || !slots_[slot]) {
        return;
    }
    if (epoll_ != nullptr) {
        epoll_->remove(slots_[slot]->fd.get());
    }
    slots_[slot].reset();
}

}  // namespace tcpr::os
