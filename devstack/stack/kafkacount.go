package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// KafkaCountsPath is where a stack started with Options.CountKafka serves its broker's request
// counts, on 127.0.0.1 at KafkaPort + PprofPortShift (+ PortOffset): a JSON object from key to
// requests since start. A key is the API's name ("Fetch", "OffsetCommit"), alone for the total and
// followed by a space and the consumer group (group APIs) or the topic (Fetch, Produce; a request
// naming several topics counts once for each).
const KafkaCountsPath = "/kafka/requests"

// kafkaCounter counts the requests a kfake cluster receives. It observes them through a control
// function that never handles one, so the broker answers each as it would without it; but kfake runs
// every control function on a goroutine of its own, which costs the broker CPU, so counting is opt-in.
type kafkaCounter struct {
	mu     sync.Mutex
	counts map[string]int64
}

// watch makes c count every request of cluster.
func (c *kafkaCounter) watch(cluster *kfake.Cluster) {
	cluster.Control(func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.add(req)
		return nil, nil, false
	})
}

// add counts req under its API's name and under each group or topic it names.
func (c *kafkaCounter) add(req kmsg.Request) {
	api := kmsg.NameForKey(req.Key())
	var subs []string
	switch r := req.(type) {
	case *kmsg.FetchRequest:
		subs = names(r.Topics, func(t kmsg.FetchRequestTopic) string { return t.Topic })
	case *kmsg.ProduceRequest:
		subs = names(r.Topics, func(t kmsg.ProduceRequestTopic) string { return t.Topic })
	case *kmsg.ListOffsetsRequest:
		subs = names(r.Topics, func(t kmsg.ListOffsetsRequestTopic) string { return t.Topic })
	case *kmsg.OffsetCommitRequest:
		subs = []string{r.Group}
	case *kmsg.OffsetFetchRequest:
		subs = []string{r.Group}
	case *kmsg.HeartbeatRequest:
		subs = []string{r.Group}
	case *kmsg.JoinGroupRequest:
		subs = []string{r.Group}
	case *kmsg.SyncGroupRequest:
		subs = []string{r.Group}
	case *kmsg.LeaveGroupRequest:
		subs = []string{r.Group}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int64{}
	}
	c.counts[api]++
	for _, s := range subs {
		c.counts[api+" "+s]++
	}
}

// names returns name of each of ts.
func names[T any](ts []T, name func(T) string) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = name(t)
	}
	return out
}

// snapshot returns a copy of the counts.
func (c *kafkaCounter) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		return map[string]int64{} // JSON {}, not null: none counted yet
	}
	return maps.Clone(c.counts)
}

// serve answers KafkaCountsPath on addr until the returned stop is called.
func (c *kafkaCounter) serve(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("kafka request counts: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+KafkaCountsPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(c.snapshot())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}
