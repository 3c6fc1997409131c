// deploy/kubernetes/ and docs/deploy.md hold what the docs promise: an Indexed Job of N shards
// (completions == parallelism == TCPR_SHARDS) started at one instant with --shard auto, each
// shard's report named by its index, the capabilities each container adds (intercept and the
// raw replayer: NET_RAW; the socket replayer and the merge: none), and only options that the
// programs built from this tree accept (their --help). Also: the ConfigMap keys the manifests
// read exist, kustomize builds the directory offline, and the Dockerfile's runtime stage
// installs the package of every library the built programs link.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include "support/e2e_helpers.h"
#include "support/subprocess.h"

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The options that the scale-out branch adds to tcpreplay2 (--shard I/N|auto, --merge-reports
// OUT IN...). The manifests use them; their check is a test case of its own, which fails
// until that branch is merged into the tree these tests are built from.
const std::set<std::string> kScaleOutFlags{"--shard", "--merge-reports"};

fs::path deploy_dir() { return fs::path(TCPR_SOURCE_DIR) / "deploy" / "kubernetes"; }

YAML::Node load(const std::string& name) {
    const fs::path p = deploy_dir() / name;
    INFO("manifest " << p);
    REQUIRE(fs::exists(p));
    return YAML::LoadFile(p.string());
}

std::vector<YAML::Node> load_all(const fs::path& p) {
    INFO("manifest " << p);
    REQUIRE(fs::exists(p));
    return YAML::LoadAllFromFile(p.string());
}

std::string str(const YAML::Node& n) { return n && n.IsScalar() ? n.as<std::string>() : ""; }

// node[k0][k1]...: an undefined node where a key is missing (yaml-cpp throws when a missing
// key's node is indexed again). Handles are rebound with reset(): a Node's operator= would
// assign the child's value into the parent's node.
YAML::Node get(const YAML::Node& node, std::initializer_list<const char*> keys) {
    YAML::Node n;
    n.reset(node);
    for (const char* k : keys) {
        const YAML::Node& here = n;  // const: indexing never inserts
        if (!here.IsMap() || !here[k]) {
            return YAML::Node(YAML::NodeType::Undefined);
        }
        n.reset(here[k]);
    }
    return n;
}

// The pod spec of a Job or Deployment.
YAML::Node pod_spec(const YAML::Node& doc) {
    const YAML::Node spec = doc["spec"]["template"]["spec"];
    REQUIRE(spec.IsMap());
    return spec;
}

// The one container of a workload (every manifest here has exactly one).
YAML::Node the_container(const YAML::Node& doc) {
    const YAML::Node cs = pod_spec(doc)["containers"];
    REQUIRE(cs.IsSequence());
    REQUIRE(cs.size() == 1);
    return cs[0];
}

std::vector<std::string> strings(const YAML::Node& seq) {
    std::vector<std::string> out;
    if (seq && seq.IsSequence()) {
        for (const auto& n : seq) {
            out.push_back(n.as<std::string>());
        }
    }
    return out;
}

// command followed by args, as the container runs them (before $(NAME) expansion).
std::vector<std::string> argv_of(const YAML::Node& container) {
    std::vector<std::string> argv = strings(container["command"]);
    const std::vector<std::string> args = strings(container["args"]);
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

// The value following `flag` in argv ("" if absent or last).
std::string value_after(const std::vector<std::string>& argv, const std::string& flag) {
    const auto it = std::find(argv.begin(), argv.end(), flag);
    return it == argv.end() || it + 1 == argv.end() ? "" : *(it + 1);
}

bool has(const std::vector<std::string>& argv, const std::string& token) {
    return std::find(argv.begin(), argv.end(), token) != argv.end();
}

// The env entry `name` of a container (an undefined node if it has none).
YAML::Node env_entry(const YAML::Node& container, const std::string& name) {
    for (const auto& e : container["env"]) {
        if (str(e["name"]) == name) {
            return e;
        }
    }
    return YAML::Node(YAML::NodeType::Undefined);
}

std::set<std::string> caps(const YAML::Node& container, const char* which) {
    const std::vector<std::string> v =
        strings(get(container, {"securityContext", "capabilities", which}));
    return {v.begin(), v.end()};
}

// Checks every workload promises: no privileged mode, no privilege escalation, every
// capability dropped but the `added` ones, requests and limits, the image of the Dockerfile.
void check_container_basics(const YAML::Node& container, const std::set<std::string>& added) {
    const YAML::Node sc = container["securityContext"];
    REQUIRE(sc.IsMap());
    CHECK_FALSE((sc["privileged"] && sc["privileged"].as<bool>()));
    REQUIRE(sc["allowPrivilegeEscalation"]);
    CHECK_FALSE(sc["allowPrivilegeEscalation"].as<bool>());
    CHECK(caps(container, "drop") == std::set<std::string>{"ALL"});
    CHECK(caps(container, "add") == added);
    for (const char* kind : {"requests", "limits"}) {
        for (const char* res : {"cpu", "memory"}) {
            INFO("resources." << kind << "." << res);
            CHECK(!str(container["resources"][kind][res]).empty());
        }
    }
    CHECK(str(container["image"]) == "tcpr:latest");
}

// The checks both replay Jobs share: an Indexed Job of N == TCPR_SHARDS shards, started at
// $(START_AT), each writing /reports/shard-$(JOB_COMPLETION_INDEX).json, never retried twice,
// archives mounted read-only from the named claim. Returns N.
int check_indexed_replay_job(const YAML::Node& job) {
    CHECK(str(job["apiVersion"]) == "batch/v1");
    CHECK(str(job["kind"]) == "Job");
    CHECK(str(job["spec"]["completionMode"]) == "Indexed");
    const int completions = job["spec"]["completions"].as<int>();
    const int parallelism = job["spec"]["parallelism"].as<int>();
    const YAML::Node c = the_container(job);
    const YAML::Node shards = env_entry(c, "TCPR_SHARDS");
    REQUIRE(shards);
    const int n = std::stoi(str(shards["value"]));
    CHECK(n >= 1);
    CHECK(completions == n);
    CHECK(parallelism == n);
    CHECK(job["spec"]["backoffLimit"].as<int>() <= 1);
    CHECK(str(pod_spec(job)["restartPolicy"]) == "Never");

    const std::vector<std::string> argv = argv_of(c);
    CAPTURE(argv);
    REQUIRE_FALSE(argv.empty());
    CHECK(argv[0] == "tcpreplay2");
    CHECK(value_after(argv, "--shard") == "auto");
    CHECK(value_after(argv, "--start-at") == "$(START_AT)");
    CHECK(str(get(env_entry(c, "START_AT"), {"valueFrom", "configMapKeyRef", "key"})) ==
          "START_AT");
    const auto report = std::find(argv.begin(), argv.end(), "--report");
    REQUIRE(report != argv.end());
    REQUIRE(argv.end() - report >= 3);
    CHECK(*(report + 1) == "json");
    CHECK((report + 2)->find("$(JOB_COMPLETION_INDEX)") != std::string::npos);
    CHECK((report + 2)->rfind("/reports/", 0) == 0);
    CHECK(value_after(argv, "--in").rfind("/archives/", 0) == 0);

    // Archives: the claim tcpr-archives, read-only in the volume and in the mount.
    bool archives = false, reports = false;
    for (const auto& v : pod_spec(job)["volumes"]) {
        const std::string claim = str(get(v, {"persistentVolumeClaim", "claimName"}));
        if (claim == "tcpr-archives") {
            archives = true;
            CHECK(v["persistentVolumeClaim"]["readOnly"].as<bool>());
        }
        reports = reports || claim == "tcpr-reports";
    }
    CHECK(archives);
    CHECK(reports);
    for (const auto& m : c["volumeMounts"]) {
        if (str(m["mountPath"]) == "/archives") {
            CHECK(m["readOnly"].as<bool>());
        }
    }
    return n;
}

// The flags (tokens starting with '-') in argv, skipping argv[0] and values that are not
// flags (paths, "$(NAME)", "100%"). Every value in these manifests that starts with '-' would be
// a flag, so every such token is one.
std::set<std::string> flags_of(const std::vector<std::string>& argv) {
    std::set<std::string> out;
    for (size_t i = 1; i < argv.size(); ++i) {
        if (argv[i].size() > 1 && argv[i][0] == '-') {
            out.insert(argv[i].substr(0, argv[i].find('=')));
        }
    }
    return out;
}

// Splits a shell command line into words (single and double quotes, no escapes); '#' at the
// start of a word begins a comment; ';', '|', '&&' are words of their own.
std::vector<std::string> shell_words(const std::string& line) {
    std::vector<std::string> words;
    std::string w;
    bool in_word = false;
    char quote = 0;
    for (size_t i = 0; i < line.size(); ++i) {
        const char ch = line[i];
        if (quote != 0) {
            if (ch == quote) {
                quote = 0;
            } else {
                w += ch;
            }
        } else if (ch == '\'' || ch == '"') {
            quote = ch;
            in_word = true;
        } else if (ch == ' ' || ch == '\t' || ch == ';' || ch == '|' || ch == '&') {
            if (in_word) {
                words.push_back(w);
            }
            w.clear();
            in_word = false;
            if (ch == ';' || ch == '|') {
                words.emplace_back(1, ch);
            } else if (ch == '&') {
                words.emplace_back("&&");
                if (i + 1 < line.size() && line[i + 1] == '&') {
                    ++i;
                }
            }
        } else if (ch == '#' && !in_word) {
            break;
        } else {
            w += ch;
            in_word = true;
        }
    }
    if (in_word) {
        words.push_back(w);
    }
    return words;
}

// The flags given to `program` in shell text: each line where the program is a command (the
// first word, or after exec, sudo, --, ';', '|', '&&'), up to the end of that command.
// A line ending in '\' continues on the next.
std::set<std::string> shell_flags(const std::string& text, const std::string& program,
                                  int* commands = nullptr) {
    std::set<std::string> out;
    std::istringstream in(text);
    std::string line, joined;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\\') {
            joined += line.substr(0, line.size() - 1) + " ";
            continue;
        }
        joined += line;
        const std::vector<std::string> words = shell_words(joined);
        joined.clear();
        static const std::set<std::string> kBefore{"exec", "sudo", "--", ";", "|", "&&", "$"};
        static const std::set<std::string> kEnd{";", "|", "&&"};
        for (size_t i = 0; i < words.size(); ++i) {
            if (words[i] != program || (i > 0 && kBefore.count(words[i - 1]) == 0)) {
                continue;
            }
            if (commands != nullptr) {
                ++*commands;
            }
            for (size_t j = i + 1; j < words.size() && kEnd.count(words[j]) == 0; ++j) {
                if (words[j].size() > 1 && words[j][0] == '-') {
                    out.insert(words[j].substr(0, words[j].find('=')));
                }
            }
        }
    }
    return out;
}

// The text of every ``` fenced block of a Markdown file.
std::string fenced_blocks(const fs::path& md) {
    std::istringstream in(read_text(md));
    std::string line, out;
    bool inside = false;
    while (std::getline(in, line)) {
        if (line.rfind("```", 0) == 0) {
            inside = !inside;
        } else if (inside) {
            out += line + "\n";
        }
    }
    return out;
}

// `program --help`, run once per program.
const std::string& help_text(const std::string& program) {
    static std::map<std::string, std::string> cache;
    auto it = cache.find(program);
    if (it == cache.end()) {
        const CommandResult r = run_command({binary(program), "--help"}, 30s);
        INFO(r.describe());
        REQUIRE(r.ok());
        it = cache.emplace(program, r.out + r.err).first;
    }
    return it->second;
}

// `text` with the characters that ECMAScript regexes treat specially escaped.
std::string regex_escape(const std::string& text) {
    static const std::regex special(R"([.^$|()\[\]{}*+?\\-])");
    return std::regex_replace(text, special, R"(\$&)");
}

// True when the help text names `flag` as an option ("-i,--interface TEXT", "--shard TEXT").
bool help_names(const std::string& help, const std::string& flag) {
    const std::regex re(R"((^|[\s,\[]))" + regex_escape(flag) + R"(([\s,=\]]|$))");
    return std::regex_search(help, re);
}

// Every flag in `flags` (minus `except`) that `program --help` does not name.
std::set<std::string> unknown_flags(const std::string& program, const std::set<std::string>& flags,
                                    const std::set<std::string>& except) {
    std::set<std::string> missing;
    for (const auto& f : flags) {
        if (except.count(f) == 0 && !help_names(help_text(program), f)) {
            missing.insert(f);
        }
    }
    return missing;
}

// What each program is given by the manifests: container argv, and the merge Job's script.
std::map<std::string, std::set<std::string>> manifest_flags() {
    std::map<std::string, std::set<std::string>> flags;
    for (const char* name : {"intercept-deployment.yaml", "replayer-job.yaml",
                             "replayer-job-socket.yaml", "merge-reports-job.yaml"}) {
        const std::vector<std::string> argv = argv_of(the_container(load(name)));
        REQUIRE_FALSE(argv.empty());
        if (argv[0] == "/bin/sh") {
            REQUIRE(argv.size() == 3);
            for (const char* program : {"tcpreplay2", "intercept", "tcprec"}) {
                int n = 0;
                const auto f = shell_flags(argv[2], program, &n);
                flags[program].insert(f.begin(), f.end());
            }
        } else {
            const auto f = flags_of(argv);
            flags[argv[0]].insert(f.begin(), f.end());
        }
    }
    return flags;
}

// --auth-key names a file of the Secret tcpr-auth-key, mounted read-only where the option
// says, readable by its owner only (the programs refuse a key file others can read).
void check_auth_key(const YAML::Node& workload, const YAML::Node& c,
                    const std::vector<std::string>& argv) {
    const std::string key = value_after(argv, "--auth-key");
    REQUIRE_FALSE(key.empty());
    const std::string dir = fs::path(key).parent_path().string();
    std::string volume;
    for (const auto& m : c["volumeMounts"]) {
        if (str(m["mountPath"]) == dir) {
            volume = str(m["name"]);
            CHECK(m["readOnly"].as<bool>());
        }
    }
    REQUIRE_FALSE(volume.empty());
    bool found = false;
    for (const auto& v : pod_spec(workload)["volumes"]) {
        if (str(v["name"]) == volume) {
            found = true;
            CHECK(str(v["secret"]["secretName"]) == "tcpr-auth-key");
            CHECK(str(v["secret"]["defaultMode"]) == "0400");  // octal, as Kubernetes reads it
        }
    }
    CHECK(found);
}

TEST_CASE(
    "the raw replay Job is Indexed with N == TCPR_SHARDS and adds NET_RAW only on hostNetwork",
    "[deploy]") {
    const YAML::Node job = load("replayer-job.yaml");
    check_indexed_replay_job(job);
    const YAML::Node c = the_container(job);
    const std::vector<std::string> argv = argv_of(c);
    CAPTURE(argv);
    CHECK_FALSE(value_after(argv, "--intercept").empty());
    CHECK_FALSE(has(argv, "--transport"));  // raw is the default
    check_container_basics(c, {"NET_RAW"});
    CHECK(pod_spec(job)["hostNetwork"].as<bool>());
    CHECK(str(pod_spec(job)["dnsPolicy"]) == "ClusterFirstWithHostNet");
    // Root only to open the raw socket: then the image's tcpr user (uid 65532, the reports
    // volume's fsGroup), which the Dockerfile creates.
    CHECK(value_after(argv, "-Z") == "tcpr");
    CHECK(pod_spec(job)["securityContext"]["fsGroup"].as<int>() == 65532);
    const std::string dockerfile =
        read_text(fs::path(TCPR_SOURCE_DIR) / "deploy" / "docker" / "Dockerfile");
    CHECK(dockerfile.find("useradd --uid 65532 --gid 65532") != std::string::npos);
    check_auth_key(job, c, argv);
}

TEST_CASE("the socket replay Job has no intercept and no capability and is not root", "[deploy]") {
    const YAML::Node job = load("replayer-job-socket.yaml");
    const int n = check_indexed_replay_job(job);
    CHECK(n == load("replayer-job.yaml")["spec"]["completions"].as<int>());
    const YAML::Node c = the_container(job);
    const std::vector<std::string> argv = argv_of(c);
    CAPTURE(argv);
    CHECK(value_after(argv, "--transport") == "socket");
    CHECK_FALSE(has(argv, "--intercept"));
    CHECK_FALSE(has(argv, "-s"));
    check_container_basics(c, {});
    CHECK_FALSE((pod_spec(job)["hostNetwork"] && pod_spec(job)["hostNetwork"].as<bool>()));
    CHECK(pod_spec(job)["securityContext"]["runAsNonRoot"].as<bool>());
    CHECK(pod_spec(job)["securityContext"]["runAsUser"].as<int>() != 0);
}

TEST_CASE("intercept is one pinned hostNetwork pod adding NET_RAW only and probed on 36524",
          "[deploy]") {
    const YAML::Node d = load("intercept-deployment.yaml");
    CHECK(str(d["apiVersion"]) == "apps/v1");
    CHECK(str(d["kind"]) == "Deployment");
    CHECK(d["spec"]["replicas"].as<int>() == 1);
    CHECK(str(d["spec"]["strategy"]["type"]) == "Recreate");
    const YAML::Node spec = pod_spec(d);
    CHECK(spec["hostNetwork"].as<bool>());
    REQUIRE(spec["nodeSelector"].IsMap());
    CHECK(spec["nodeSelector"].size() >= 1);
    const YAML::Node c = the_container(d);
    // NET_ADMIN is not needed (docs/deploy.md, "Privileges": capture and --promisc work with
    // CAP_NET_RAW alone).
    check_container_basics(c, {"NET_RAW"});
    const std::vector<std::string> argv = argv_of(c);
    CAPTURE(argv);
    REQUIRE_FALSE(argv.empty());
    CHECK(argv[0] == "intercept");
    CHECK_FALSE(value_after(argv, "-i").empty());
    CHECK(value_after(argv, "-p") == "36524");
    CHECK(c["ports"][0]["containerPort"].as<int>() == 36524);
    for (const char* probe : {"readinessProbe", "livenessProbe"}) {
        INFO(probe);
        CHECK(c[probe]["tcpSocket"]["port"].as<int>() == 36524);
    }
    check_auth_key(d, c, argv);
    // The replayers are told the same port.
    const std::string intercept = str(load("config.yaml")["data"]["INTERCEPT"]);
    CHECK(intercept.size() > 6);
    CHECK(intercept.substr(intercept.size() - 6) == ":36524");
}

TEST_CASE("the merge Job waits for the same N shards and merges them with /bin/sh", "[deploy]") {
    const YAML::Node job = load("merge-reports-job.yaml");
    CHECK(str(job["apiVersion"]) == "batch/v1");
    CHECK(str(job["kind"]) == "Job");
    const YAML::Node c = the_container(job);
    check_container_basics(c, {});
    CHECK(std::stoi(str(env_entry(c, "TCPR_SHARDS")["value"])) ==
          load("replayer-job.yaml")["spec"]["completions"].as<int>());
    const std::vector<std::string> argv = argv_of(c);
    REQUIRE(argv.size() == 3);
    CHECK(argv[0] == "/bin/sh");
    CHECK(argv[1] == "-c");
    int commands = 0;
    const auto flags = shell_flags(argv[2], "tcpreplay2", &commands);
    CHECK(commands == 1);
    CHECK(flags.count("--merge-reports") == 1);
    CHECK(argv[2].find("/reports/shard-$i.json") != std::string::npos);
    CHECK(argv[2].find("--report html /reports/merged.html") != std::string::npos);
}

TEST_CASE("every ConfigMap key the manifests read is in config.yaml", "[deploy]") {
    const YAML::Node cm = load("config.yaml");
    CHECK(str(cm["kind"]) == "ConfigMap");
    const std::string name = str(cm["metadata"]["name"]);
    int refs = 0;
    for (const char* file : {"intercept-deployment.yaml", "replayer-job.yaml",
                             "replayer-job-socket.yaml", "merge-reports-job.yaml"}) {
        for (const auto& e : the_container(load(file))["env"]) {
            const YAML::Node ref = get(e, {"valueFrom", "configMapKeyRef"});
            if (ref) {
                INFO(file << ": " << str(e["name"]));
                CHECK(str(ref["name"]) == name);
                CHECK(cm["data"][str(ref["key"])]);
                ++refs;
            }
        }
    }
    CHECK(refs >= 6);
}

TEST_CASE("kustomization.yaml lists the raw setup's manifests and not the socket Job", "[deploy]") {
    const YAML::Node k = load("kustomization.yaml");
    const std::vector<std::string> listed = strings(k["resources"]);
    const std::set<std::string> set(listed.begin(), listed.end());
    for (const auto& e : fs::directory_iterator(deploy_dir())) {
        const std::string name = e.path().filename().string();
        if (e.path().extension() != ".yaml" || name == "kustomization.yaml") {
            continue;
        }
        INFO(name);
        CHECK(set.count(name) == (name == "replayer-job-socket.yaml" ? 0u : 1u));
    }
    for (const auto& name : listed) {
        INFO(name);
        CHECK(fs::exists(deploy_dir() / name));
    }
    // The workloads' namespace is the Namespace's (plain kubectl apply -f works as well).
    const std::string ns = str(load("namespace.yaml")["metadata"]["name"]);
    for (const auto& name : listed) {
        for (const auto& doc : load_all(deploy_dir() / name)) {
            INFO(name);
            if (str(doc["kind"]) != "Namespace") {
                CHECK(str(doc["metadata"]["namespace"]) == ns);
            }
        }
    }
}

TEST_CASE("kubectl kustomize builds deploy/kubernetes offline", "[deploy]") {
    // kubectl apply/create --dry-run=client need the API server's discovery even with
    // --validate=false; kustomize does not. scripts/install-deps installs Debian's
    // kubernetes-client when no kubectl is on PATH.
    const CommandResult r = run_command({"kubectl", "kustomize", deploy_dir().string()}, 60s);
    INFO(r.describe());
    REQUIRE(r.ok());
    std::multiset<std::string> objects;
    for (const auto& doc : YAML::LoadAll(r.out)) {
        objects.insert(str(doc["kind"]) + "/" + str(doc["metadata"]["name"]));
        if (str(doc["kind"]) == "Job" && str(doc["metadata"]["name"]) == "tcpr-replay") {
            CHECK(str(doc["spec"]["completionMode"]) == "Indexed");
        }
    }
    CHECK(objects == std::multiset<std::string>{"Namespace/tcpr", "ConfigMap/tcpr-config",
                                                "PersistentVolumeClaim/tcpr-archives",
                                                "PersistentVolumeClaim/tcpr-reports",
                                                "Deployment/tcpr-intercept", "Job/tcpr-replay",
                                                "Job/tcpr-merge-reports"});
}

TEST_CASE("the manifests and docs/deploy.md give the programs only options they accept",
          "[deploy]") {
    auto flags = manifest_flags();
    const std::string docs = fenced_blocks(fs::path(TCPR_SOURCE_DIR) / "docs" / "deploy.md");
    int commands = 0;
    for (const char* program : {"tcpreplay2", "intercept", "tcprec"}) {
        const auto f = shell_flags(docs, program, &commands);
        flags[program].insert(f.begin(), f.end());
    }
    CHECK(commands >= 5);  // the docs' commands were found (tcprec 2, intercept 1, tcpreplay2 2)
    CHECK(flags["tcpreplay2"].count("--start-at") == 1);
    CHECK(flags["intercept"].count("-i") == 1);
    for (const auto& [program, used] : flags) {
        INFO(program << " options used: " << used.size());
        REQUIRE((program == "tcpreplay2" || program == "intercept" || program == "tcprec"));
        const auto missing = unknown_flags(program, used, kScaleOutFlags);
        CAPTURE(missing);
        CHECK(missing.empty());
    }
}

// Fails until the scale-out branch (--shard, --merge-reports) is merged into this tree.
TEST_CASE("tcpreplay2 accepts the scale-out options the manifests use: shard and merge-reports",
          "[deploy]") {
    auto flags = manifest_flags();
    const auto& used = flags["tcpreplay2"];
    for (const auto& f : kScaleOutFlags) {
        INFO(f << " is used by the manifests");
        CHECK(used.count(f) == 1);
    }
    const auto missing = unknown_flags("tcpreplay2", kScaleOutFlags, {});
    CAPTURE(missing);
    CHECK(missing.empty());
}

TEST_CASE("the Dockerfile builds the three programs and installs the libraries they link",
          "[deploy]") {
    const std::string df =
        read_text(fs::path(TCPR_SOURCE_DIR) / "deploy" / "docker" / "Dockerfile");
    REQUIRE_FALSE(df.empty());
    CHECK(df.find("FROM debian:12 AS build") != std::string::npos);
    const auto runtime_at = df.find("FROM debian:12-slim");
    REQUIRE(runtime_at != std::string::npos);
    const std::string runtime = df.substr(runtime_at);
    // The packages named by the runtime stage's apt-get install (comments left out).
    std::set<std::string> installed;
    {
        std::istringstream in(runtime);
        std::string line, code;
        while (std::getline(in, line)) {
            const auto first = line.find_first_not_of(" \t");
            if (first != std::string::npos && line[first] != '#') {
                code += line + " ";
            }
        }
        const auto at = code.find("apt-get install");
        REQUIRE(at != std::string::npos);
        const std::string args = code.substr(at, code.find("&&", at) - at);
        for (const auto& w : shell_words(args)) {
            if (!w.empty() && w[0] != '-' && w != "\\") {
                installed.insert(w);
            }
        }
    }
    for (const char* program : {"tcprec", "tcpreplay2", "intercept"}) {
        INFO(program);
        CHECK(runtime.find(std::string("/src/build/src/") + program) != std::string::npos);
    }
    // Each shared library the built programs link directly (NEEDED; apt brings the libraries
    // those depend on) belongs to a Debian package that the runtime stage installs, or that
    // debian:12-slim has.
    const std::set<std::string> base{"libc6", "libstdc++6", "libgcc-s1"};
    std::set<fs::path> libs;
    for (const char* program : {"tcprec", "tcpreplay2", "intercept"}) {
        const CommandResult needed = run_command({"objdump", "-p", binary(program)}, 30s);
        const CommandResult ldd = run_command({"ldd", binary(program)}, 30s);
        REQUIRE(needed.ok());
        REQUIRE(ldd.ok());
        static const std::regex needed_re(R"(NEEDED\s+(\S+))");
        for (std::sregex_iterator it(needed.out.begin(), needed.out.end(), needed_re), end;
             it != end; ++it) {
            const std::string soname = (*it)[1].str();
            std::smatch where;
            const std::regex where_re(regex_escape(soname) + R"( => (/\S+))");
            INFO("ldd does not resolve " << soname << ":\n" << ldd.out);
            REQUIRE(std::regex_search(ldd.out, where, where_re));
            libs.insert(where[1].str());
        }
    }
    std::set<std::string> packages;
    for (const fs::path& given : libs) {
        // dpkg knows each file under the path its package ships (/lib or /usr/lib on a
        // merged-/usr system), which may be neither ldd's path nor the canonical one.
        const fs::path real = fs::canonical(given);
        std::vector<std::string> candidates{given.string(), real.string()};
        for (const fs::path& p : {given, real}) {
            const std::string t = p.string();
            candidates.push_back(t.rfind("/usr/", 0) == 0 ? t.substr(4) : "/usr" + t);
        }
        std::string pkg;
        for (const auto& c : candidates) {
            const CommandResult owner = run_command({"dpkg", "-S", c}, 30s);
            if (owner.ok()) {
                pkg = owner.out.substr(0, owner.out.find_first_of(":,"));
                break;
            }
        }
        INFO("no Debian package owns " << given << " (dpkg -S)");
        REQUIRE_FALSE(pkg.empty());
        packages.insert(pkg);
    }
    REQUIRE(packages.count("libpcap0.8") == 1);
    for (const auto& pkg : packages) {
        if (base.count(pkg) == 0) {
            INFO("package " << pkg << " is not installed by the Dockerfile's runtime stage");
            CHECK(installed.count(pkg) == 1);
        }
    }
}

TEST_CASE("docs/deploy.md names every manifest and links the benchmarks", "[deploy]") {
    const std::string doc = read_text(fs::path(TCPR_SOURCE_DIR) / "docs" / "deploy.md");
    REQUIRE_FALSE(doc.empty());
    for (const auto& e : fs::directory_iterator(deploy_dir())) {
        INFO(e.path().filename());
        CHECK(doc.find(e.path().filename().string()) != std::string::npos);
    }
    CHECK(doc.find("docs/benchmarks.md") != std::string::npos);
    CHECK(read_text(fs::path(TCPR_SOURCE_DIR) / "README.md").find("docs/deploy.md") !=
          std::string::npos);
}

}  // namespace
}  // namespace tcpr::test
