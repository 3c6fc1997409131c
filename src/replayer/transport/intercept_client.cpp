#include "replayer/transport/intercept_client.h"

#include <algorithm>

#include "common/base/error.h"
#include "common/base/log.h"
#include "common/os/auth.h"

namespace tcpr::replay {

InterceptClient::InterceptClient(InterceptOptions options) : opt_(std::move(options)) {
    backoff_ = opt_.backoff_min_ns;
}

void InterceptClient::hello(std::chrono::milliseconds timeout) {
    const wire::Hello hello{wire::kProtocolVersion, opt_.name,
                            opt_.features | wire::kFeatureRefusals | wire::kFeatureAuth};
    conn_->send_blocking(hello, timeout);
    auto reply = conn_->receive_blocking(timeout);
    if (!reply) {
        throw Error(ErrorKind::Network,
                    "no answer to Hello within " + std::to_string(timeout.count()) + " ms");
    }
    if (auto* challenge = std::get_if<wire::Challenge>(&*reply)) {
        if (opt_.auth_key.empty()) {
            // Told to intercept too, which counts it; then the same line as a refusal.
            try {
                conn_->send_blocking(wire::ErrorMsg{"this replayer has no key"}, timeout);
            } catch (const Error&) {
            }
            throw NoKey{};
        }
        if (challenge->algorithm != wire::kAuthHmacSha256) {
            throw Error(ErrorKind::Network, "intercept asks for an unknown authentication (" +
                                                std::to_string(challenge->algorithm) + ")");
        }
        conn_->send_blocking(os::auth_proof(opt_.auth_key, *challenge, hello), timeout);
        reply = conn_->receive_blocking(timeout);
        if (!reply) {
            throw Error(ErrorKind::Network,
                        "no answer to Auth within " + std::to_string(timeout.count()) + " ms");
        }
    } else if (std::holds_alternative<wire::HelloAck>(*reply) && !opt_.auth_key.empty() &&
               !warned_no_auth_) {
        warned_no_auth_ = true;
        log::warn("intercept at %s does not ask for a key: --auth-key is not used",
                  opt_.address.to_string().c_str());
    }
    if (auto* ack = std::get_if<wire::HelloAck>(&*reply)) {
        expiry_seconds_ = ack->expiry_seconds == 0 ? 120 : ack->expiry_seconds;
        features_ = ack->features & (opt_.features | wire::kFeatureRefusals);
        return;
    }
    if (auto* err = std::get_if<wire::ErrorMsg>(&*reply)) {
        throw Refused(err->reason);
    }
    throw Error(ErrorKind::Network, "unexpected answer to Hello");
}

void InterceptClient::connect() {
    const std::string where = "cannot reach intercept at " + opt_.address.to_string();
    try {
        conn_.emplace(os::TcpConnection::connect(opt_.address, opt_.connect_timeout));
        hello(opt_.connect_timeout);
    } catch (const NoKey&) {
        conn_.reset();
        throw Error(ErrorKind::Network,
                    "intercept at " + opt_.address.to_string() +
                        " requires a key: give tcpreplay2 --auth-key FILE (a copy of the file "
                        "given to intercept's --auth-key)");
    } catch (const Refused& e) {
        conn_.reset();
        // A refusal about versions says which one we speak.
        const bool versions = e.reason.find("version") != std::string::npos;
        throw Error(ErrorKind::Network,
                    "intercept at " + opt_.address.to_string() +
                        " refused this replayer: " + e.reason +
                        (versions ? " (this tcpreplay2 speaks intercept protocol version " +
                                        std::to_string(wire::kProtocolVersion) + ")"
                                  : std::string()));
    } catch (const Error& e) {
        conn_.reset();
        std::string why = e.what();
        // TcpConnection says "cannot connect to A: cause": keep the cause only.
        const std::string prefix = "cannot connect to " + opt_.address.to_string() + ": ";
        if (why.rfind(prefix, 0) == 0) {
            why = why.substr(prefix.size());
        }
        throw Error(ErrorKind::Network, where + ": " + why + " (is intercept running there?)");
    }
}

bool InterceptClient::register_tuples(std::span<const wire::Tuple> tuples) {
    if (!conn_) {
        return false;
    }
    for (size_t i = 0; i < tuples.size(); i += wire::kMaxTuplesPerFrame) {
        const size_t n = std::min(wire::kMaxTuplesPerFrame, tuples.size() - i);
        wire::Register r;
        r.tuples.assign(tuples.begin() + static_cast<long>(i),
                        tuples.begin() + static_cast<long>(i + n));
        if (!conn_->send(r)) {
            return false;
        }
    }
    return true;
}

bool InterceptClient::unregister_tuples(std::span<const wire::Tuple> tuples) {
    if (!conn_) {
        return false;
    }
    for (size_t i = 0; i < tuples.size(); i += wire::kMaxTuplesPerFrame) {
        const size_t n = std::min(wire::kMaxTuplesPerFrame, tuples.size() - i);
        wire::Unregister u;
        u.tuples.assign(tuples.begin() + static_cast<long>(i),
                        tuples.begin() + static_cast<long>(i + n));
        if (!conn_->send(u)) {
            return false;
        }
    }
    return true;
}

std::optional<uint64_t> InterceptClient::ping() {
    if (!conn_) {
        return std::nullopt;
    }
    const uint64_t n = nonce_;
    if (!conn_->send(wire::Ping{n})) {
        return std::nullopt;
    }
    ++nonce_;
    return n;
}

bool InterceptClient::read(std::vector<wire::Message>& out, uint64_t now_ns) {
    if (!conn_) {
        return false;
    }
    const os::IoStatus st = conn_->receive();
    while (true) {
        wire::DecodeResult r = conn_->next_message();
        if (r.status == wire::DecodeStatus::NeedMore) {
            break;
        }
        if (r.status != wire::DecodeStatus::Ok) {
            disconnect(std::string("bad message from intercept: ") + wire::to_string(r.status),
                       now_ns);
            return false;
        }
        if (auto* err = std::get_if<wire::ErrorMsg>(&*r.message)) {
            disconnect("intercept closed the connection: " + err->reason, now_ns);
            return false;
        }
        out.push_back(std::move(*r.message));
    }
    conn_->wake_on_whole_frame();
    if (st == os::IoStatus::Closed) {
        disconnect(conn_->error().empty() ? "connection closed" : conn_->error(), now_ns);
        return false;
    }
    return true;
}

bool InterceptClient::write(uint64_t now_ns) {
    if (!conn_) {
        return false;
    }
    if (conn_->flush() == os::IoStatus::Closed) {
        disconnect(conn_->error(), now_ns);
        return false;
    }
    return true;
}

void InterceptClient::disconnect(const std::string& why, uint64_t now_ns) {
    if (conn_) {
        ++disconnects_;
        conn_.reset();
    }
    last_error_ = why;
    next_attempt_ = now_ns + backoff_;
}

bool InterceptClient::maybe_reconnect(uint64_t now_ns) {
    if (conn_) {
        return true;
    }
    if (now_ns < next_attempt_) {
        return false;
    }
    try {
        conn_.emplace(os::TcpConnection::connect(opt_.address, opt_.reconnect_timeout));
        hello(opt_.reconnect_timeout);
        ++reconnects_;
        backoff_ = opt_.backoff_min_ns;
        return true;
    } catch (const NoKey&) {
        conn_.reset();
        last_error_ = "intercept requires a key (--auth-key)";
        backoff_ = std::min(backoff_ * 2, opt_.backoff_max_ns);
        next_attempt_ = now_ns + backoff_;
        return false;
    } catch (const Refused& e) {
        conn_.reset();
        last_error_ = "intercept refused this replayer: " + e.reason;
        backoff_ = std::min(backoff_ * 2, opt_.backoff_max_ns);
        next_attempt_ = now_ns + backoff_;
        return false;
    } catch (const Error& e) {
        conn_.reset();
        last_error_ = e.what();
        backoff_ = std::min(backoff_ * 2, opt_.backoff_max_ns);
        next_attempt_ = now_ns + backoff_;
        return false;
    }
}

}  // namespace tcpr::replay
