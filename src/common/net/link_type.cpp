#include "common/net/link_type.h"

namespace tcpr::net {

std::optional<LinkType> link_type_from_value(uint32_t value) {
    switch (value) {
        case 0:
        case 1:
        case 101:
        case 108:
        case 113:
        case 228:
        case 229:
        case 276:
            return static_cast<LinkType>(value);
        default:
            return std::nullopt;
    }
}

std::string link_type_name(uint32_t value) {
    switch (value) {
        case 0:
            return "NULL";
        case 1:
            return "EN10MB";
        case 101:
            return "RAW";
        case 108:
            return "LOOP";
        case 113:
            return "LINUX_SLL";
        case 228:
            return "IPV4";
        case 229:
            return "IPV6";
        case 276:
            return "LINUX_SLL2";
        default:
            return "LINKTYPE_" + std::to_string(value);
    }
}

}  // namespace tcpr::net
