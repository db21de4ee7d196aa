# Read by CMake at llama-cpp-python's `project()` calls when scripts/bootstrap builds its wheel
# (CMAKE_PROJECT_INCLUDE_BEFORE). llama-cpp-python's Python module loads libllama and libggml only; it also builds
# and ships llama.cpp's "common" library (argument parsing, chat templates, an HTTP client: the code of llama.cpp's
# own programs), about half of the compile, which no Python code of it loads. Its CMakeLists forces the cache entry
# LLAMA_BUILD_COMMON on; a normal variable of that name takes precedence over a cache entry (policy CMP0126, on since
# CMake 3.21, the minimum llama-cpp-python declares), so this leaves that library out.
set(LLAMA_BUILD_COMMON OFF)
