// Lint, including the module boundaries of DESIGN.md: driver/ and provider/
// talk only over gRPC, provider/azure never sees gRPC or Kubernetes, util/ is
// a leaf, and gRPC stays at the edges.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

const grpcEdges = [
  "src/driver/server.ts",
  "src/driver/rpc.ts",
  "src/driver/provider-client.ts",
  "src/provider/server.ts",
  "src/util/grpc-server.ts",
  "src/util/proto.ts",
  "src/main.ts",
  "src/demo/**",
];

const restrict = (patterns) => ({ "no-restricted-imports": ["error", { patterns }] });
const grpc = { group: ["@grpc/*"], message: "gRPC stays at the edges (DESIGN.md)" };

export default tseslint.config(
  { ignores: ["dist/**", "coverage/**", "src/generated/**", "node_modules/**", "scripts/**", "eslint.config.mjs", "**/*.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-unused-expressions": "off",
    },
  },
  {
    files: ["src/util/**"],
    ignores: ["src/util/grpc-server.ts", "src/util/proto.ts"],
    rules: restrict([{ group: ["../*", "!../util/*"], message: "util/ imports no other src folder" }, grpc]),
  },
  {
    files: ["src/k8s/**", "src/mount/**"],
    rules: restrict([
      { group: ["../driver/*", "../provider/*", "../emulator/*", "../config/*"], message: "k8s/ and mount/ may import util/ only" },
      grpc,
    ]),
  },
  {
    files: ["src/driver/**"],
    ignores: grpcEdges,
    rules: restrict([
      { group: ["../provider/*", "../../provider/*", "../emulator/*", "../../emulator/*"], message: "driver/ talks to the provider only over gRPC" },
      { group: ["@azure/*"], message: "driver/ never calls Azure" },
      grpc,
    ]),
  },
  {
    files: ["src/driver/server.ts", "src/driver/rpc.ts", "src/driver/provider-client.ts"],
    rules: restrict([{ group: ["../provider/*", "../emulator/*", "@azure/*"], message: "driver/ talks to the provider only over gRPC" }]),
  },
  {
    files: ["src/provider/**"],
    ignores: ["src/provider/server.ts"],
    rules: restrict([
      { group: ["../driver/*", "../../driver/*", "../k8s/*", "../../k8s/*", "../emulator/*", "../../emulator/*"], message: "provider/ never imports driver/, k8s/ or the emulator" },
      grpc,
    ]),
  },
  {
    files: ["src/provider/server.ts"],
    rules: restrict([{ group: ["../driver/*", "../k8s/*", "../emulator/*"], message: "provider/ never imports driver/, k8s/ or the emulator" }]),
  },
  {
    files: ["test/**", "bench/**"],
    rules: {
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
  prettier,
);
