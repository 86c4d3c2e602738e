// Using libneedle from C++: RAII owners for every Needle-owned pointer, exceptions for statuses.
// Build: g++ -std=c++17 -I include ffi/examples/cpp/example.cc -L <dir of libneedle.so> -lneedle
#include "needle.h"
#include "needle.h"  // the header is include-guarded and C++-compatible

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// Owns the needle_error every call takes last: the code and message of exactly that call (no
// thread-local state), freed when it goes out of scope.
class Err {
  public:
    Err() = default;
    Err(const Err &) = delete;
    Err &operator=(const Err &) = delete;
    ~Err() { needle_error_clear(&e_); }
    needle_error *get() { return &e_; }
    // Throws the call's status and message when it failed.
    void check(needle_status s) const {
        if (s != NEEDLE_OK) throw std::runtime_error(std::string(needle_status_str(s)) + ": " + e_.message);
    }

  private:
    needle_error e_ = NEEDLE_ERROR_INIT;
};

struct DbCloser {
    void operator()(needle_db *db) const { needle_db_close(db, nullptr); }
};
struct CollectionFree {
    void operator()(needle_collection *c) const { needle_collection_free(c); }
};
struct HitsFree {
    void operator()(needle_hits *h) const { needle_hits_free(h); }
};
using Db = std::unique_ptr<needle_db, DbCloser>;
using Collection = std::unique_ptr<needle_collection, CollectionFree>;
using Hits = std::unique_ptr<needle_hits, HitsFree>;

}  // namespace

int main() {
    if (needle_abi_version() != NEEDLE_ABI_VERSION) {
        std::fprintf(stderr, "header/library ABI mismatch\n");
        return 1;
    }
    std::printf("libneedle %s (abi %u)\n", needle_version(), needle_abi_version());
    try {
        Err err;
        needle_db *raw_db = nullptr;
        err.check(needle_db_open_memory(&raw_db, err.get()));
        Db db(raw_db);
        needle_collection *raw_c = nullptr;
        err.check(needle_db_create_collection(db.get(), "fruit", 3, R"({"distance":"euclidean"})", &raw_c, err.get()));
        Collection c(raw_c);

        const std::vector<std::pair<std::string, std::vector<float>>> items = {
            {"apple", {1.0f, 0.1f, 0.0f}}, {"banana", {0.0f, 1.0f, 0.2f}}, {"cherry", {0.9f, 0.0f, 0.3f}}};
        for (const auto &[id, v] : items) {
            std::string meta = R"({"name":")" + id + R"("})";
            err.check(needle_collection_insert(c.get(), id.c_str(), v.data(), v.size(), meta.c_str(), err.get()));
        }
        const float query[3] = {1.0f, 0.0f, 0.1f};
        needle_hits *raw_hits = nullptr;
        err.check(needle_collection_search(c.get(), query, 3, 2, nullptr, &raw_hits, err.get()));
        Hits hits(raw_hits);
        for (size_t i = 0; i < hits->len; i++) {
            std::printf("%s %.4f %s\n", hits->hits[i].id, hits->hits[i].distance, hits->hits[i].metadata_json);
        }
        if (hits->len != 2 || std::string(hits->hits[0].id) != "apple") return 1;

        // Errors come back as statuses (here turned into exceptions) with the call's own message.
        try {
            err.check(needle_collection_insert(c.get(), "bad", query, 2, nullptr, err.get()));
            return 1;
        } catch (const std::runtime_error &e) {
            std::printf("expected error: %s\n", e.what());
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    std::printf("cpp example: ok\n");
    return 0;
}
