// A transparent grpc-go proxy for unary calls, so the plugin can be driven with grpc-go (the
// node's gRPC family) on the far side of every connection it has: in front of the plugin's server
// (the node's client calls), and in front of the harness's Runtime and rpcdb servers (the
// plugin's client calls). Messages pass through as raw bytes; statuses come back as they were.
//
// Usage: grpc-go-proxy <target host:port>  — listens on 127.0.0.1:0 and prints "listening <addr>".
// Client options as the node's (AvalancheGo v1.14.2 grpcutils): unlimited message sizes, keepalive
// pings every 30 s; server options as the node's: unlimited sizes, keepalive enforcement MinTime 5 s.
package main

import (
	"fmt"
	"math"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// raw passes messages through as bytes. Registered as "proto", it replaces the proto codec for
// both sides of the proxy, so no generated code is needed.
type raw struct{}

func (raw) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (raw) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (raw) Name() string   { return "proto" }
func (raw) String() string { return "proto" }

func main() {
	encoding.RegisterCodec(raw{})
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: grpc-go-proxy <target host:port>")
		os.Exit(2)
	}
	upstream, err := grpc.Dial(os.Args[1],
		grpc.WithInsecure(),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(math.MaxInt32), grpc.WaitForReady(true)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		os.Exit(1)
	}
	handler := func(_ interface{}, stream grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(stream)
		var in []byte
		if err := stream.RecvMsg(&in); err != nil {
			return err
		}
		var out []byte
		if err := upstream.Invoke(stream.Context(), method, &in, &out); err != nil {
			return status.Convert(err).Err()
		}
		return stream.SendMsg(&out)
	}
	server := grpc.NewServer(
		grpc.UnknownServiceHandler(handler),
		grpc.MaxRecvMsgSize(math.MaxInt32),
		grpc.MaxSendMsgSize(math.MaxInt32),
		grpc.MaxConcurrentStreams(math.MaxUint32),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", lis.Addr().String())
	if err := server.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}
