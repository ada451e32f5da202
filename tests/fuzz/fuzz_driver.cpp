// Replay driver for fuzz targets in ordinary (g++) builds, so every CTest run
// exercises them: runs each file of the seed corpus, then a bounded number of
// deterministic mutations of them (bit flips, truncations, splices, byte
// insertions). A crash or a failed invariant aborts the test. Real
// coverage-guided fuzzing uses the same target with libFuzzer (clang,
// VESTNIK_FUZZ=ON; see docs/operations.md).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(p)) {
      for (auto& e : std::filesystem::directory_iterator(p)) files.push_back(e.path());
    } else {
      files.push_back(p);
    }
    for (auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  if (corpus.empty()) corpus.emplace_back();
  for (auto& c : corpus) LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(c.data()), c.size());

  const char* env = std::getenv("VESTNIK_FUZZ_ITERATIONS");
  long iterations = env ? std::atol(env) : 20000;
  std::mt19937_64 rng(0x7e57);
  static const char kTokens[] = "{}[]\":,\\ \r\n\t0123456789.-+eEtrufalsn@<>=&%\x00\xff\xc3\xd0";
  for (long i = 0; i < iterations; ++i) {
    std::string s = corpus[rng() % corpus.size()];
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
      switch (rng() % 6) {
        case 0: if (!s.empty() && pos < s.size()) s[pos] ^= static_cast<char>(1u << (rng() % 8)); break;
        case 1: s.insert(pos, 1, kTokens[rng() % (sizeof kTokens - 1)]); break;
        case 2: if (pos < s.size()) s.erase(pos, 1 + rng() % 16); break;
        case 3: s.resize(pos); break;
        case 4: {
          const std::string& other = corpus[rng() % corpus.size()];
          if (!other.empty()) {
            size_t from = rng() % other.size();
            s.insert(pos, other, from, 1 + rng() % 64);
          }
          break;
        }
        case 5: if (pos < s.size()) s.insert(pos, s.substr(pos, 1 + rng() % 32)); break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  std::printf("fuzz replay: %zu corpus inputs, %ld mutations, no failure\n", corpus.size(), iterations);
  return 0;
}
