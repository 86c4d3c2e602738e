module needle.example/cgo

go 1.19
