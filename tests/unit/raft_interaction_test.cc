// Interaction scripts: text-golden tests of the pure Raft core (etcd-raft's datadriven
// interaction tests). Each file in testdata/raft/ is a sequence of commands, each
// followed by "----" and the output it must produce (every Ready a member hands out and
// every message delivered, in order), ended by a blank line. A change in behaviour
// shows as a readable diff of messages; a new script is written with its commands and
// an empty output, then filled in by
//   DISTKIT_REWRITE=1 bazel run //tests/unit:raft_interaction_test
// and reviewed line by line before it is committed.
//
// Commands (ids are members; flags are key=value):
//   add-nodes <n> [pre-vote=] [check-quorum=] [lease-reads=] [max-inflight=]
//             [chunk=<snapshot chunk bytes>] [learners=<id,id>]
//   campaign <id> | propose <id> <data> | read-index <id> <request>
//   propose-conf-change <id> add-learner|promote|remove <node>
//   transfer-leadership <from> <to> | compact <id> | add-joiner <id>
//   tick <id> [<n>] | tick-heartbeat <id> | tick-election <id>
//   process-ready <id>...      take each member's Ready, make it durable, send, apply
//   deliver-msgs [<to>...] [drop=true]   the messages in flight (to those members)
//   stabilize                  process-ready and deliver until nothing is left
//   cut <a> <b> | isolate <id> | heal | crash <id> | restart <id>
//   raft-state | raft-log <id> | status <id>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "distkit/core/raft/codec.h"
#include "distkit/core/raft/raft_machine.h"
#include "tests/unit/raft_group.h"

namespace distkit::raft {
namespace {

using testing::Group;

// ---- Printing ------------------------------------------------------------------

std::string data_text(std::string_view data) {
  std::string out = "\"";
  for (char c : data) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isprint(u) && c != '"' && c != '\\') {
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out + "\"";
}

std::string ids(const std::vector<NodeId>& v) {
  std::string out = "(";
  for (std::size_t i = 0; i < v.size(); ++i)
    out += (i ? " " : "") + std::to_string(v[i]);
  return out + ")";
}

std::string entry_text(const Entry& e) {
  std::string out = std::to_string(e.term) + "/" + std::to_string(e.index);
  switch (e.type) {
    case EntryType::kNoOp:
      return out + " no-op";
    case EntryType::kConfChange: {
      Result<ConfChange> c = decode_conf_change(e.data);
      if (!c.ok()) return out + " conf-change (undecodable)";
      const char* what = c->type == ConfChangeType::kAddLearner ? "add-learner"
                         : c->type == ConfChangeType::kPromote  ? "promote"
                                                                : "remove";
      return out + " conf-change " + what + " " + std::to_string(c->node);
    }
    case EntryType::kNormal:
      break;
  }
  return out + " " + data_text(e.data);
}

std::string message_text(const Message& m) {
  std::ostringstream o;
  o << m.from << "->" << m.to << " " << to_string(m.type) << " Term:" << m.term;
  switch (m.type) {
    case MessageType::kPreVote:
    case MessageType::kVote:
      o << " Log:" << m.log_term << "/" << m.index;
      if (m.context == kTransferCampaign) o << " Transfer";
      break;
    case MessageType::kPreVoteResponse:
    case MessageType::kVoteResponse:
      if (m.reject) o << " Rejected";
      break;
    case MessageType::kAppend:
      o << " Log:" << m.log_term << "/" << m.index << " Commit:" << m.commit;
      if (!m.entries.empty()) {
        o << " Entries:[";
        for (std::size_t i = 0; i < m.entries.size(); ++i)
          o << (i ? ", " : "") << entry_text(m.entries[i]);
        o << "]";
      }
      break;
    case MessageType::kAppendResponse:
      o << " Index:" << m.index;
      if (m.reject) o << " Rejected (Hint: " << m.log_term << "/" << m.reject_hint << ")";
      break;
    case MessageType::kHeartbeat:
      o << " Commit:" << m.commit;
      [[fallthrough]];
    case MessageType::kHeartbeatResponse:
      if (m.index != 0) o << " Round:" << m.index;
      if (m.context != 0) o << " Read:" << m.context;
      break;
    case MessageType::kTimeoutNow:
      break;
    case MessageType::kSnapshot:
      o << " Snapshot:" << m.log_term << "/" << m.index << " Offset:" << m.context
        << " Bytes:" << m.data.size() << (m.done ? " Done" : "");
      break;
    case MessageType::kSnapshotResponse:
      o << " Snapshot:" << m.log_term << "/" << m.index << " Have:" << m.context;
      break;
  }
  return o.str();
}

// ---- The script runner -----------------------------------------------------------

struct Command {
  std::string name;
  std::vector<std::string> args;
  std::map<std::string, std::string> flags;
};

Command parse_command(const std::string& line) {
  Command c;
  std::istringstream in(line);
  std::string word;
  in >> c.name;
  while (in >> word) {
    const std::size_t eq = word.find('=');
    if (eq == std::string::npos) {
      c.args.push_back(word);
    } else {
      c.flags[word.substr(0, eq)] = word.substr(eq + 1);
    }
  }
  return c;
}

class Interaction {
 public:
  std::string run(const Command& c) {
    out_.clear();
    if (c.name == "add-nodes") {
      add_nodes(c);
      return take();
    }
    if (!group_) return "error: add-nodes first\n";
    const std::size_t errors = group_->step_errors().size();
    const std::size_t promises = group_->broken_promises().size();
    dispatch(c);
    for (std::size_t i = errors; i < group_->step_errors().size(); ++i)
      line("step error: " + group_->step_errors()[i]);
    for (std::size_t i = promises; i < group_->broken_promises().size(); ++i)
      line("BROKEN PROMISE: " + group_->broken_promises()[i]);
    return take();
  }

 private:
  static NodeId id(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 10); }
  static bool flag(const Command& c, const std::string& name, bool fallback) {
    auto it = c.flags.find(name);
    return it == c.flags.end() ? fallback : it->second == "true";
  }
  void line(const std::string& s) { out_ += s + "\n"; }
  std::string take() { return std::exchange(out_, {}); }

  void add_nodes(const Command& c) {
    Config base;
    base.pre_vote = flag(c, "pre-vote", true);
    base.check_quorum = flag(c, "check-quorum", true);
    base.lease_reads = flag(c, "lease-reads", false);
    if (c.flags.contains("max-inflight"))
      base.max_inflight = std::strtoull(c.flags.at("max-inflight").c_str(), nullptr, 10);
    if (c.flags.contains("chunk"))
      base.max_snapshot_chunk_bytes = std::strtoull(c.flags.at("chunk").c_str(), nullptr, 10);
    if (c.flags.contains("learners")) {
      std::istringstream in(c.flags.at("learners"));
      std::string one;
      while (std::getline(in, one, ','))
        base.learners.push_back(id(one));
    }
    group_.emplace(static_cast<int>(id(c.args.at(0))), base);
    group_->on_ready = [this](NodeId who, const Ready& rd) { print_ready(who, rd); };
    group_->on_deliver = [this](const Message& m) { line("  " + message_text(m)); };
    for (const auto& [who, m] : group_->members()) {
      line(std::to_string(who) + ": " + std::string(to_string(m.machine->role())) + " term " +
           std::to_string(m.machine->term()) + ", voters " + ids(m.machine->conf_state().voters) +
           ", learners " + ids(m.machine->conf_state().learners));
    }
  }

  void print_ready(NodeId who, const Ready& rd) {
    line("> " + std::to_string(who) + " handling Ready");
    const RaftMachine& m = (*group_)[who];
    const std::string state =
        std::string(to_string(m.role())) + " Lead:" + std::to_string(m.leader());
    if (last_state_[who] != state) {
      last_state_[who] = state;
      line("  State: " + state);
    }
    if (rd.hard_state) {
      line("  HardState Term:" + std::to_string(rd.hard_state->term) +
           " Vote:" + std::to_string(rd.hard_state->vote) +
           " Commit:" + std::to_string(rd.hard_state->commit) + (rd.must_sync ? "" : " (no sync)"));
    }
    if (rd.snapshot) {
      const SnapshotMetadata& s = rd.snapshot->metadata;
      line("  Snapshot Index:" + std::to_string(s.index) + " Term:" + std::to_string(s.term) +
           " Voters:" + ids(s.voters) + " Learners:" + ids(s.learners));
    }
    const auto list = [&](const char* title, const auto& items, auto text) {
      if (items.empty()) return;
      line(std::string("  ") + title + ":");
      for (const auto& item : items)
        line("    " + text(item));
    };
    list("Entries", rd.entries, entry_text);
    list("Messages", rd.messages, message_text);
    list("PersistedMessages", rd.persisted_messages, message_text);
    list("CommittedEntries", rd.committed_entries, entry_text);
    list("ReadStates", rd.read_states, [](const ReadState& r) {
      return "request " + std::to_string(r.request) + " at index " + std::to_string(r.index);
    });
  }

  void process_ready(NodeId who) {
    if (!group_->member(who).machine) return;
    group_->take_ready(who);
    group_->persist(who);
  }

  bool deliver(const std::vector<NodeId>& to, bool drop) {
    std::deque<Message>& net = group_->network();
    std::vector<Message> now;
    std::deque<Message> keep;
    for (Message& m : net) {
      if (to.empty() || std::find(to.begin(), to.end(), m.to) != to.end()) {
        now.push_back(std::move(m));
      } else {
        keep.push_back(std::move(m));
      }
    }
    net = std::move(keep);
    if (now.empty()) return false;
    if (drop) {
      line("> dropping messages");
      for (const Message& m : now)
        line("  " + message_text(m));
      return true;
    }
    line("> delivering messages");
    for (const Message& m : now)
      group_->deliver(m);
    return true;
  }

  void stabilize() {
    for (int round = 0; round < 1000; ++round) {
      bool any = false;
      for (const auto& [who, m] : group_->members()) {
        if (m.machine && m.machine->has_ready()) {
          process_ready(who);
          any = true;
        }
      }
      if (deliver({}, false)) any = true;
      if (!any) return;
    }
    line("stabilize: still busy after 1000 rounds");
  }

  void raft_state() {
    for (const auto& [who, m] : group_->members()) {
      if (!m.machine) {
        line(std::to_string(who) + ": down");
        continue;
      }
      const RaftMachine& r = *m.machine;
      line(std::to_string(who) + ": " + std::string(to_string(r.role())) +
           (r.conf_state().is_learner(who) ? " (learner)" : "") +
           " Term:" + std::to_string(r.term()) + " Lead:" + std::to_string(r.leader()) +
           " Commit:" + std::to_string(r.commit_index()) + " Applied:" +
           std::to_string(r.applied_index()) + " Log:" + std::to_string(r.log().first_index()) +
           ".." + std::to_string(r.log().last_index()));
    }
  }

  void dispatch(const Command& c) {
    const auto arg = [&](std::size_t i) { return id(c.args.at(i)); };
    if (c.name == "campaign") {
      (*group_)[arg(0)].campaign();
    } else if (c.name == "propose") {
      Result<Index> r = (*group_)[arg(0)].propose(c.args.at(1));
      line(r.ok() ? "index " + std::to_string(*r) : r.status().to_string());
    } else if (c.name == "propose-conf-change") {
      const std::string& what = c.args.at(1);
      const ConfChangeType type = what == "add-learner" ? ConfChangeType::kAddLearner
                                  : what == "promote"   ? ConfChangeType::kPromote
                                                        : ConfChangeType::kRemove;
      Result<Index> r = (*group_)[arg(0)].propose_conf_change({type, arg(2)});
      line(r.ok() ? "index " + std::to_string(*r) : r.status().to_string());
    } else if (c.name == "read-index") {
      const Status s = (*group_)[arg(0)].read_index(arg(1));
      if (!s.ok()) line(s.to_string());
    } else if (c.name == "transfer-leadership") {
      const Status s = (*group_)[arg(0)].transfer_leader(arg(1));
      if (!s.ok()) line(s.to_string());
    } else if (c.name == "compact") {
      const Status s = group_->compact(arg(0));
      line(s.ok() ? "log starts after " + std::to_string((*group_)[arg(0)].log().snapshot_index())
                  : s.to_string());
    } else if (c.name == "add-joiner") {
      group_->add_joiner(arg(0));
    } else if (c.name == "tick") {
      group_->tick(arg(0), c.args.size() > 1 ? static_cast<int>(arg(1)) : 1);
    } else if (c.name == "tick-heartbeat") {
      group_->tick(arg(0), 1);
    } else if (c.name == "tick-election") {
      group_->tick(arg(0), (*group_)[arg(0)].randomized_election_timeout());
    } else if (c.name == "process-ready") {
      for (std::size_t i = 0; i < c.args.size(); ++i)
        process_ready(arg(i));
    } else if (c.name == "deliver-msgs") {
      std::vector<NodeId> to;
      for (std::size_t i = 0; i < c.args.size(); ++i)
        to.push_back(arg(i));
      deliver(to, flag(c, "drop", false));
    } else if (c.name == "stabilize") {
      stabilize();
    } else if (c.name == "cut") {
      group_->cut(arg(0), arg(1));
    } else if (c.name == "isolate") {
      group_->isolate(arg(0));
    } else if (c.name == "heal") {
      group_->heal();
    } else if (c.name == "crash") {
      group_->crash(arg(0));
      last_state_.erase(arg(0));
    } else if (c.name == "restart") {
      group_->restart(arg(0));
    } else if (c.name == "raft-state") {
      raft_state();
    } else if (c.name == "raft-log") {
      const RaftLog& log = (*group_)[arg(0)].log();
      if (log.snapshot_index() > 0)
        line("snapshot " + std::to_string(log.term(log.snapshot_index()).value_or(0)) + "/" +
             std::to_string(log.snapshot_index()));
      for (Index i = log.first_index(); i <= log.last_index(); ++i)
        line(entry_text(log.at(i)));
    } else if (c.name == "status") {
      const RaftMachine& r = (*group_)[arg(0)];
      for (const auto& [who, m] : group_->members()) {
        const Progress* p = r.progress(who);
        if (p == nullptr || who == arg(0)) continue;
        static constexpr const char* kStates[] = {"probe", "replicate", "snapshot"};
        line(std::to_string(who) + ": " + kStates[static_cast<int>(p->state)] +
             " match=" + std::to_string(p->match) + " next=" + std::to_string(p->next) +
             " inflight=" + std::to_string(p->inflight.size()) +
             " sent-commit=" + std::to_string(p->sent_commit));
      }
    } else {
      line("error: unknown command " + c.name);
    }
  }

  std::optional<Group> group_;
  std::map<NodeId, std::string> last_state_;
  std::string out_;
};

// ---- Files -----------------------------------------------------------------------

struct Case {
  std::string command;  // the line
  std::string expected;
  std::string actual;
};

std::vector<Case> parse_file(const std::string& text, std::vector<std::string>* comments) {
  std::vector<Case> cases;
  std::istringstream in(text);
  std::string line;
  std::string pending_comments;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      pending_comments += line + "\n";
      continue;
    }
    Case c{.command = line};
    if (!std::getline(in, line) || line != "----") {
      c.expected = "(malformed: no ---- after the command)\n";
    } else {
      while (std::getline(in, line) && !line.empty())
        c.expected += line + "\n";
    }
    comments->push_back(pending_comments);
    pending_comments.clear();
    cases.push_back(std::move(c));
  }
  comments->push_back(pending_comments);
  return cases;
}

std::string render(const std::vector<Case>& cases, const std::vector<std::string>& comments) {
  std::string out;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    out += comments[i];
    out += cases[i].command + "\n----\n" + cases[i].actual + "\n";
  }
  std::string tail = comments.back();
  while (!tail.empty() && tail.back() == '\n' && out.ends_with("\n\n"))
    tail.pop_back();
  return out + tail;
}

constexpr const char* kTestdata = "tests/unit/testdata/raft";

TEST(RaftInteraction, ScriptsProduceTheirGoldenOutput) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(kTestdata)) {
    if (e.path().extension() == ".txt") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no scripts in " << kTestdata;
  const char* rewrite = std::getenv("DISTKIT_REWRITE");
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  for (const std::filesystem::path& path : files) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<std::string> comments;
    std::vector<Case> cases = parse_file(text.str(), &comments);
    Interaction interaction;
    for (Case& c : cases) {
      c.actual = interaction.run(parse_command(c.command));
      if (rewrite == nullptr) {
        EXPECT_EQ(c.actual, c.expected)
            << path.filename().string() << ": " << c.command
            << "\n(to accept the new output: DISTKIT_REWRITE=1 bazel run "
               "//tests/unit:raft_interaction_test, then review the diff)";
      }
    }
    if (rewrite != nullptr) {
      ASSERT_NE(workspace, nullptr) << "DISTKIT_REWRITE needs `bazel run`";
      std::ofstream out(std::filesystem::path(workspace) / kTestdata / path.filename());
      out << render(cases, comments);
      std::cout << "rewrote " << path.filename().string() << "\n";
    }
  }
}

}  // namespace
}  // namespace distkit::raft
