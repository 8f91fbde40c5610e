// Package testnet gives tests network endpoints that misbehave on purpose: a
// TCP listener that accepts connections and never speaks, and an address
// nothing listens on. Both are on 127.0.0.1.
package testnet

import (
	"net"
	"sync"
	"testing"
)

// HangingAddr returns the address of a TCP listener on 127.0.0.1 that
// accepts connections and never says anything, until the test ends.
func HangingAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testnet: %v", err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// ClosedAddr returns an address on 127.0.0.1 that nothing listens on.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testnet: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
