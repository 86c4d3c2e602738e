// Native peer driver: hnswlib's C++ core measured in process, no Python anywhere near the timed
// loop. bench-harness compiles this file against hnswlib's headers (taken from the PyPI source
// distribution at build time, see peers/native/build.sh; hnswlib's code is not in this repository)
// and runs it once per data set. It measures what peers/peers.py measures, the same way, and prints
// the same JSON document (schema needle-peers/1) on stdout; progress goes to stderr.
//
//   hnswlib_driver --base B.fvecs --query Q.fvecs --groundtruth G.ivecs [--limit N] [--queries N]
//       --metric cosine|dot|euclidean --k 10 --M 16 --ef-construction 200
//       --ef-search 10,16,... --threads 2 --build-threads 1,2 --seed 42 --warmup 100 --repeats 3
//       --recall-targets 0.9,0.95,0.99 --scratch DIR --build-info TEXT
//
// Cosine: vectors are L2-normalised and searched with the inner-product space, as hnswlib's
// Python binding does for space="cosine" (queries are normalised inside the timed call, as there).
// Builds: a parallel build adds the first vector alone, then the rest from an atomic counter on
// the requested number of threads (the Python binding's ParallelFor).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "hnswlib/hnswlib.h"

namespace {

struct Args {
    std::string base, query, groundtruth, metric = "cosine", scratch = "/tmp", build_info;
    long limit = -1, queries = -1;
    int k = 10, m = 16, ef_construction = 200, threads = 2, seed = 100, warmup = 100, repeats = 1;
    std::vector<int> ef_search, build_threads;
    std::vector<double> recall_targets{0.90, 0.95, 0.99};
};

[[noreturn]] void die(const std::string &msg) {
    std::cerr << "[hnswlib-cpp] error: " << msg << std::endl;
    std::exit(2);
}

void log(const std::string &msg) { std::cerr << "[hnswlib-cpp] " << msg << std::endl; }

std::vector<std::string> split(const std::string &s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

Args parse(int argc, char **argv) {
    Args a;
    for (int i = 1; i < argc; i++) {
        std::string key = argv[i];
        if (i + 1 >= argc) die("missing value for " + key);
        std::string v = argv[++i];
        if (key == "--base") a.base = v;
        else if (key == "--query") a.query = v;
        else if (key == "--groundtruth") a.groundtruth = v;
        else if (key == "--limit") a.limit = std::stol(v);
        else if (key == "--queries") a.queries = std::stol(v);
        else if (key == "--metric") a.metric = v;
        else if (key == "--k") a.k = std::stoi(v);
        else if (key == "--M") a.m = std::stoi(v);
        else if (key == "--ef-construction") a.ef_construction = std::stoi(v);
        else if (key == "--threads") a.threads = std::stoi(v);
        else if (key == "--seed") a.seed = std::stoi(v);
        else if (key == "--warmup") a.warmup = std::stoi(v);
        else if (key == "--repeats") a.repeats = std::stoi(v);
        else if (key == "--scratch") a.scratch = v;
        else if (key == "--build-info") a.build_info = v;
        else if (key == "--ef-search") {
            for (auto &e : split(v)) a.ef_search.push_back(std::stoi(e));
        } else if (key == "--build-threads") {
            for (auto &e : split(v)) a.build_threads.push_back(e == "all" ? -1 : std::stoi(e));
        } else if (key == "--recall-targets") {
            a.recall_targets.clear();
            for (auto &e : split(v)) a.recall_targets.push_back(std::stod(e));
        } else die("unknown option " + key);
    }
    if (a.base.empty() || a.query.empty() || a.groundtruth.empty()) die("--base, --query and --groundtruth are required");
    if (a.metric != "cosine" && a.metric != "dot" && a.metric != "euclidean") die("bad --metric " + a.metric);
    for (auto &t : a.build_threads) {
        if (t < 0) t = a.threads;
    }
    if (a.build_threads.empty()) a.build_threads = {1, a.threads};
    return a;
}

// A TEXMEX .fvecs / .ivecs file: per record an int32 dimension, then that many 4-byte values.
template <typename T>
std::vector<T> read_vecs(const std::string &path, long limit, size_t &dim) {
    std::ifstream f(path, std::ios::binary);
    if (!f) die("cannot open " + path);
    std::vector<T> out;
    int32_t d = 0;
    long rows = 0;
    while ((limit < 0 || rows < limit) && f.read(reinterpret_cast<char *>(&d), 4)) {
        if (d <= 0 || (rows > 0 && static_cast<size_t>(d) != dim)) die(path + ": bad record dimension");
        dim = static_cast<size_t>(d);
        size_t at = out.size();
        out.resize(at + dim);
        if (!f.read(reinterpret_cast<char *>(out.data() + at), static_cast<std::streamsize>(4 * dim))) {
            die(path + ": truncated record");
        }
        rows++;
    }
    if (rows == 0) die(path + ": empty");
    return out;
}

void normalize(float *v, size_t dim) {
    double s = 0;
    for (size_t i = 0; i < dim; i++) s += double(v[i]) * v[i];
    float inv = s > 0 ? float(1.0 / std::sqrt(s)) : 1.0f;
    for (size_t i = 0; i < dim; i++) v[i] *= inv;
}

long rss_bytes() {
    std::ifstream f("/proc/self/statm");
    long size = 0, resident = 0;
    f >> size >> resident;
    return resident * sysconf(_SC_PAGESIZE);
}

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs f(i) for i in [start, end) on `threads` threads pulling indexes from a shared counter.
void parallel_for(size_t start, size_t end, int threads, const std::function<void(size_t)> &f) {
    if (threads <= 1) {
        for (size_t i = start; i < end; i++) f(i);
        return;
    }
    std::atomic<size_t> next(start);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++) {
        pool.emplace_back([&] {
            for (size_t i = next.fetch_add(1); i < end; i = next.fetch_add(1)) f(i);
        });
    }
    for (auto &th : pool) th.join();
}

struct Driver {
    Args args;
    size_t dim = 0, n = 0, nq = 0;
    std::vector<float> base, queries;
    std::vector<int32_t> truth;  // nq rows of truth_dim ids
    size_t truth_dim = 0;
    std::unique_ptr<hnswlib::SpaceInterface<float>> space;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;

    void load() {
        base = read_vecs<float>(args.base, args.limit, dim);
        size_t qdim = 0;
        queries = read_vecs<float>(args.query, args.queries, qdim);
        if (qdim != dim) die("queries and base differ in dimensions");
        n = base.size() / dim;
        nq = queries.size() / dim;
        truth = read_vecs<int32_t>(args.groundtruth, static_cast<long>(nq), truth_dim);
        if (truth_dim < size_t(args.k) || truth.size() / truth_dim < nq) die("ground truth too small");
        if (args.metric == "cosine") {
            for (size_t i = 0; i < n; i++) normalize(&base[i * dim], dim);
        }
        if (args.metric == "euclidean") space.reset(new hnswlib::L2Space(dim));
        else space.reset(new hnswlib::InnerProductSpace(dim));
    }

    void build(size_t count, int threads) {
        index.reset();
        index.reset(new hnswlib::HierarchicalNSW<float>(space.get(), count, args.m, args.ef_construction, args.seed));
        index->addPoint(&base[0], 0);
        parallel_for(1, count, threads, [&](size_t i) { index->addPoint(&base[i * dim], i); });
    }

    std::vector<uint32_t> search(const float *q, std::vector<float> &tmp) const {
        const float *p = q;
        if (args.metric == "cosine") {
            std::memcpy(tmp.data(), q, dim * sizeof(float));
            normalize(tmp.data(), dim);
            p = tmp.data();
        }
        auto top = index->searchKnn(p, args.k);
        std::vector<uint32_t> ids(top.size());
        for (size_t i = top.size(); i-- > 0;) {
            ids[i] = static_cast<uint32_t>(top.top().second);
            top.pop();
        }
        return ids;
    }

    double recall(const std::vector<std::vector<uint32_t>> &found) const {
        size_t hits = 0;
        for (size_t i = 0; i < nq; i++) {
            std::set<int32_t> want(truth.begin() + i * truth_dim, truth.begin() + i * truth_dim + args.k);
            for (size_t j = 0; j < found[i].size() && j < size_t(args.k); j++) hits += want.count(int32_t(found[i][j]));
        }
        return double(hits) / double(nq * args.k);
    }
};

double percentile(const std::vector<double> &sorted, double p) {
    if (sorted.empty()) return NAN;
    size_t rank = std::max<size_t>(1, size_t(std::ceil(p / 100.0 * sorted.size())));
    return sorted[rank - 1];
}

std::string json_string(const std::string &s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        out += c;
    }
    return out + "\"";
}

std::string num(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

const char *simd() {
#if defined(USE_AVX512)
    return "AVX512 (hnswlib USE_AVX512, dispatched at run time)";
#elif defined(USE_AVX)
    return "AVX (hnswlib USE_AVX)";
#elif defined(USE_SSE)
    return "SSE (hnswlib USE_SSE)";
#else
    return "scalar";
#endif
}

}  // namespace

int main(int argc, char **argv) {
    Driver d;
    d.args = parse(argc, argv);
    const Args &a = d.args;
    d.load();
    log("loaded " + std::to_string(d.n) + " x " + std::to_string(d.dim) + ", " + std::to_string(d.nq) + " queries");

    std::ostringstream peer;
    std::vector<int> threads_list;
    for (int t : a.build_threads) {
        if (std::find(threads_list.begin(), threads_list.end(), t) == threads_list.end()) threads_list.push_back(t);
    }
    // A small throw-away build first, so lazily created state is not counted as index memory.
    d.build(std::min<size_t>(1000, d.n), threads_list.back());
    d.index.reset();
    long rss_delta = 0;
    std::ostringstream build;
    for (size_t i = 0; i < threads_list.size(); i++) {
        d.index.reset();
        long rss0 = rss_bytes();
        double t0 = now_s();
        d.build(d.n, threads_list[i]);
        double dt = now_s() - t0;
        if (i == 0) rss_delta = rss_bytes() - rss0;
        build << (i ? "," : "") << "\"threads_" << threads_list[i] << "_s\":" << num(dt);
        log("built " + std::to_string(d.n) + " vectors with " + std::to_string(threads_list[i]) + " thread(s) in " +
            num(dt) + " s");
    }
    std::string path = a.scratch + "/hnswlib-cpp-" + std::to_string(getpid()) + ".bin";
    d.index->saveIndex(path);
    std::ifstream sz(path, std::ios::binary | std::ios::ate);
    long disk = static_cast<long>(sz.tellg());
    d.index.reset();
    double t0 = now_s();
    d.index.reset(new hnswlib::HierarchicalNSW<float>(d.space.get(), path));
    double open_s = now_s() - t0;
    std::remove(path.c_str());

    std::ostringstream sweep;
    std::vector<float> tmp(d.dim);
    for (size_t e = 0; e < a.ef_search.size(); e++) {
        int ef = a.ef_search[e];
        d.index->setEf(ef);
        for (size_t i = 0; i < std::min<size_t>(a.warmup, d.nq); i++) d.search(&d.queries[i * d.dim], tmp);
        // Best of --repeats passes by QPS, with that pass's latencies.
        double best_total = INFINITY;
        std::vector<double> best_lat;
        std::vector<std::vector<uint32_t>> found(d.nq);
        for (int r = 0; r < std::max(1, a.repeats); r++) {
            std::vector<double> lat(d.nq);
            double start = now_s();
            for (size_t i = 0; i < d.nq; i++) {
                double q0 = now_s();
                found[i] = d.search(&d.queries[i * d.dim], tmp);
                lat[i] = (now_s() - q0) * 1e6;
            }
            double total = now_s() - start;
            if (total < best_total) {
                best_total = total;
                best_lat = lat;
            }
        }
        double rec = d.recall(found);
        double batch_s = INFINITY;
        for (int r = 0; r < std::max(1, a.repeats); r++) {
            double b0 = now_s();
            parallel_for(0, d.nq, a.threads, [&](size_t i) {
                std::vector<float> t(d.dim);
                found[i] = d.search(&d.queries[i * d.dim], t);
            });
            batch_s = std::min(batch_s, now_s() - b0);
        }
        std::sort(best_lat.begin(), best_lat.end());
        double qps = d.nq / best_total;
        sweep << (e ? "," : "") << "{\"ef_search\":" << ef << ",\"recall\":" << num(rec) << ",\"qps\":" << num(qps)
              << ",\"batch_qps\":" << num(d.nq / batch_s) << ",\"p50_us\":" << num(percentile(best_lat, 50))
              << ",\"p95_us\":" << num(percentile(best_lat, 95)) << ",\"p99_us\":" << num(percentile(best_lat, 99))
              << "}";
        log("ef=" + std::to_string(ef) + " recall@" + std::to_string(a.k) + "=" + num(rec) + " qps=" + num(qps));
    }

    std::ostringstream versions;
    versions << "{\"hnswlib-cpp\":" << json_string("0.8.0") << ",\"compiler\":" << json_string(__VERSION__) << "}";
    std::cout << "{\"schema\":\"needle-peers/1\",\"params\":{\"k\":" << a.k << ",\"M\":" << a.m
              << ",\"ef_construction\":" << a.ef_construction << "},\"dataset\":{\"n\":" << d.n << ",\"dim\":" << d.dim
              << ",\"queries\":" << d.nq << "},\"versions\":" << versions.str()
              << ",\"machine\":{\"faiss_compile_options\":null,\"usearch_hardware_acceleration\":null}"
              << ",\"peers\":[{\"name\":\"hnswlib-cpp\",\"library\":\"hnswlib\",\"kind\":\"hnsw\",\"dtype\":\"f32\""
              << ",\"build_description\":" << json_string(a.build_info + "; SIMD: " + simd())
              << ",\"build\":{" << build.str() << "},\"rss_delta_bytes\":" << rss_delta << ",\"disk_bytes\":" << disk
              << ",\"open_s\":" << num(open_s) << ",\"sweep\":[" << sweep.str() << "]}]}" << std::endl;
    return 0;
}
