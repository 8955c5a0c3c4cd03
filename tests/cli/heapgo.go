// heapgo: a small Go program for drip's CLI tests (standard library only). It allocates in two
// named functions, keeps part of it, and then either writes its heap profile with runtime/pprof
// (MemProfileRate = 1: every allocation recorded, no sampling) or serves net/http/pprof.
//
//	heapgo write FILE [SCALE]   write the heap profile to FILE; SCALE multiplies the allocations
//	heapgo serve                listen on 127.0.0.1:0, print "port N", serve until stdin closes
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
)

var small, large [][]byte
var sink []byte

// allocSmall keeps n 1000-byte blocks (1024-byte size class).
//
//go:noinline
func allocSmall(n int) {
	for i := 0; i < n; i++ {
		small = append(small, make([]byte, 1000))
	}
}

// allocLarge keeps n 64 KiB blocks and drops as many 32 KiB ones (alloc_* differ from inuse_*).
//
//go:noinline
func allocLarge(n int) {
	for i := 0; i < n; i++ {
		large = append(large, make([]byte, 64<<10))
		sink = make([]byte, 32<<10)
	}
}

//go:noinline
func work(scale int) {
	allocSmall(3000 * scale)
	allocLarge(40 * scale)
}

func main() {
	runtime.MemProfileRate = 1
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: heapgo write FILE [SCALE] | heapgo serve")
		os.Exit(2)
	}
	scale := 1
	if len(os.Args) > 3 {
		scale, _ = strconv.Atoi(os.Args[3])
	}
	work(scale)
	sink = nil
	runtime.GC()
	runtime.GC()
	switch os.Args[1] {
	case "write":
		f, err := os.Create(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		f.Close()
	case "serve":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
		go func() { io.Copy(io.Discard, os.Stdin); os.Exit(0) }()
		http.Serve(ln, nil)
	}
	runtime.KeepAlive(small)
	runtime.KeepAlive(large)
}
