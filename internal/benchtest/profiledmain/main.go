// Command profiledmain is the buildpack's main (internal/buildpackmain:
// the registered function served by funcframework.Start) with profiling,
// for BenchmarkProcessProfile: the first SIGUSR1 starts a CPU profile, the
// second stops it and writes cpu.pprof, allocs.pprof, heap.pprof and
// mutex.pprof into $PROFILE_DIR, then prints "profiles written" to
// stderr. The function's own signals (SIGTERM, SIGINT) are untouched.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"

	_ "github.com/telephony-hooks/okta-8x8"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

func main() {
	http.HandleFunc("/robots.txt", http.NotFound)
	http.HandleFunc("/favicon.ico", http.NotFound)
	// One lock wait in 10 is sampled: cheap enough not to move the tail.
	runtime.SetMutexProfileFraction(10)
	go profile(os.Getenv("PROFILE_DIR"))

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if err := funcframework.Start(port); err != nil {
		log.Fatalf("Function failed to start: %v\n", err)
	}
}

func profile(dir string) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	<-c
	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err == nil {
		err = pprof.StartCPUProfile(cpu)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return
	}
	<-c
	pprof.StopCPUProfile()
	_ = cpu.Close()
	for _, name := range []string{"allocs", "heap", "mutex"} {
		f, err := os.Create(filepath.Join(dir, name+".pprof"))
		if err == nil {
			err = pprof.Lookup(name).WriteTo(f, 0)
			_ = f.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "profiles written")
}
