// hprobe: a gRPC health probe built from Debian's grpc-go, the client
// library kubelet's grpc probes use. Exit codes: 0 SERVING, 1 NOT_SERVING or
// another status, 2 no connection, 3 the RPC failed (e.g. NOT_FOUND).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:50051", "server address")
	service := flag.String("service", "", "service name")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, *addr, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		fmt.Fprintf(os.Stderr, "no connection: %v\n", err)
		os.Exit(2)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: *service})
	if err != nil {
		fmt.Fprintf(os.Stderr, "rpc failed: %v\n", err)
		os.Exit(3)
	}
	fmt.Println(resp.GetStatus().String())
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		os.Exit(1)
	}
}
