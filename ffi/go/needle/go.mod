// The path follows the repository URL in the workspace Cargo.toml; use a replace directive
// (replace example.invalid/needle/ffi/go/needle => <checkout>/ffi/go/needle) to build against it.
module example.invalid/needle/ffi/go/needle

go 1.19
