{
  "variables": {
    "vouch_tcti%": "<!(pkg-config --exists tss2-tctildr 2>/dev/null && echo 1 || echo 0)"
  },
  "targets": [
    {
      "target_name": "vouch_peercred",
      "sources": ["peercred.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ],
  "conditions": [
    [
      "vouch_tcti==1",
      {
        "targets": [
          {
            "target_name": "vouch_tcti",
            "sources": ["tcti.cc"],
            "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
            "cflags_cc": ["<!@(pkg-config --cflags tss2-tctildr)"],
            "libraries": ["<!@(pkg-config --libs tss2-tctildr)"],
            "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"]
          }
        ]
      }
    ]
  ]
}
