# The node-gyp route to the same addon that CMakeLists.txt builds (prebuilt llama.cpp libraries only).
# npm install takes the prebuilt addon or the cmake-js route (package.json "install" runs scripts/install.mjs), so
# this file is never used automatically; `npx node-gyp rebuild` uses it, with the paths build-native.mjs prints.
# The libraries are not copied: src/engine/addon.ts loads them from their package at run time.
# Keep its sources, defines and flags in step with CMakeLists.txt.
{
  "targets": [
    {
      "target_name": "infoprune",
      "sources": ["native/addon.cpp", "native/engine.cpp", "native/log_softmax.cpp", "native/platform.cpp",
                  "native/bigram_fit.cpp", "native/spectral_init.cpp", "native/trainer.cpp", "native/trainer_binding.cpp"],
      "include_dirs": [
        "<!(node -p \"require('path').dirname(require.resolve('node-addon-api/package.json'))\")",
        "<!@(node scripts/build-native.mjs --print include)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "INFOPRUNE_BACKEND_DL"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++1y", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno", "-Wno-psabi"],
      "libraries": [
        "<!@(node scripts/build-native.mjs --print libraries)",
        "-Wl,-rpath,'$$ORIGIN'"
      ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_LDFLAGS": ["-Wl,-rpath,@loader_path"]
      }
    }
  ]
}
