package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// connectConcurrency is how many peers connect at once: enough to ramp up quickly,
// few enough not to time out signaling on a small machine.
const connectConcurrency = 8

// warmup passes between the last peer connecting and the start of measurement, so
// that keyframe requests and the first retransmissions are over.
const warmup = 2 * time.Second

// runner holds one run's state.
type runner struct {
	cfg            Config
	pubAPI, subAPI *webrtc.API // for peers that publish, and for those that only receive
	rec            recorder

	connected, failed atomic.Int64
	receivers         atomic.Int64

	mu    sync.Mutex
	peers []peer
	err   error // the first connection error, for the report

	media     sync.WaitGroup // synthetic senders
	stopMedia context.CancelFunc
}

// Run connects the peers of cfg, measures for cfg.Duration and returns the report.
// Progress lines go to progress (nil: none). It returns when the run is over: the
// time it takes is bounded by cfg.ConnectTimeout, the warm-up and cfg.Duration.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Report, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	pubAPI, err := newAPI(true, cfg.TWCC)
	if err != nil {
		return nil, err
	}
	subAPI, err := newAPI(false, cfg.TWCC)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, pubAPI: pubAPI, subAPI: subAPI}
	if progress == nil {
		progress = io.Discard
	}
	var before procSample
	if cfg.ServerPID != 0 {
		if before, err = readProc(cfg.ServerPID); err != nil {
			return nil, fmt.Errorf("server pid %d: %w", cfg.ServerPID, err)
		}
	}
	mediaCtx, stop := context.WithCancel(context.Background())
	r.stopMedia = stop
	defer r.close()

	connectCtx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	r.connect(connectCtx, mediaCtx, progress)
	cancel()
	if r.connected.Load() == 0 {
		return nil, fmt.Errorf("no peer connected: %w", r.err)
	}
	if err := sleep(ctx, warmup); err != nil {
		return nil, err
	}
	return r.measure(ctx, before, progress)
}

// connect starts every peer of the shape, publishers first.
func (r *runner) connect(ctx, mediaCtx context.Context, progress io.Writer) {
	fmt.Fprintf(progress, "connecting %d peers to %s\n", r.cfg.peers(), r.cfg.Target)
	jobs := r.jobs(mediaCtx)
	sem := make(chan struct{}, connectConcurrency)
	var wg sync.WaitGroup
	for i, job := range jobs {
		if i == r.publishers() && r.cfg.Shape == ShapeFanout {
			wg.Wait() // subscribers join once the publisher's tracks are in the room
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r.add(job(ctx))
		}()
	}
	wg.Wait()
	fmt.Fprintf(progress, "connected %d, failed %d\n", r.connected.Load(), r.failed.Load())
}

// jobs lists a function per peer that connects it.
func (r *runner) jobs(mediaCtx context.Context) []func(context.Context) (peer, error) {
	cfg := r.cfg
	var jobs []func(context.Context) (peer, error)
	publisher := func(room, name string) func(context.Context) (peer, error) {
		return func(ctx context.Context) (peer, error) {
			m, err := newMedia(name)
			if err != nil {
				return nil, err
			}
			m.simulcast = cfg.Simulcast && cfg.Protocol != ProtocolWHIP
			var p peer
			if cfg.Protocol == ProtocolWHIP {
				p, err = r.publishWHIP(ctx, endpoint(cfg.Target, cfg.WHIPPath, room), m)
			} else {
				p, err = r.joinNative(ctx, room, name, &m)
			}
			if err == nil {
				m.send(mediaCtx, &r.media, cfg.Bitrate, cfg.AudioBitrate)
			}
			return p, err
		}
	}
	if cfg.Shape == ShapeRooms {
		for room := range cfg.Rooms {
			for i := range cfg.Participants {
				jobs = append(jobs, publisher(fmt.Sprintf("%s-%d", cfg.Room, room), fmt.Sprintf("p%d", i)))
			}
		}
		r.receivers.Store(int64(len(jobs)))
		return jobs
	}
	jobs = append(jobs, publisher(cfg.Room, "publisher"))
	for i := range cfg.Subscribers {
		name := fmt.Sprintf("s%d", i)
		jobs = append(jobs, func(ctx context.Context) (peer, error) {
			if cfg.Protocol == ProtocolWHIP {
				return r.watchWHEP(ctx, endpoint(cfg.Target, cfg.WHEPPath, cfg.Room))
			}
			return r.joinNative(ctx, cfg.Room, name, nil)
		})
	}
	r.receivers.Store(int64(cfg.Subscribers))
	return jobs
}

func (r *runner) publishers() int {
	if r.cfg.Shape == ShapeRooms {
		return r.cfg.Rooms * r.cfg.Participants
	}
	return 1
}

func (r *runner) newReceiving() *receiving { return &receiving{started: time.Now()} }

// add records the outcome of connecting one peer.
func (r *runner) add(p peer, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.failed.Add(1)
		if r.err == nil {
			r.err = err
		}
		return
	}
	r.connected.Add(1)
	r.peers = append(r.peers, p)
}

// measure opens the measurement window for cfg.Duration, printing a progress line a
// second, and builds the report.
func (r *runner) measure(ctx context.Context, before procSample, progress io.Writer) (*Report, error) {
	start, err := r.sampleServer()
	if err != nil {
		return nil, err
	}
	r.rec.measuring.Store(true)
	began := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	end := time.After(r.cfg.Duration)
	peak := start.rss
loop:
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-end:
			break loop
		case <-tick.C:
			if s, err := r.sampleServer(); err == nil {
				peak = max(peak, s.rss)
			}
			r.printProgress(progress, time.Since(began))
		}
	}
	r.rec.measuring.Store(false)
	elapsed := time.Since(began)
	stop, err := r.sampleServer()
	if err != nil {
		return nil, err
	}
	stop.rss = max(stop.rss, peak)
	return r.report(elapsed, before, start, stop), nil
}

func (r *runner) sampleServer() (procSample, error) {
	if r.cfg.ServerPID == 0 {
		return procSample{}, nil
	}
	return readProc(r.cfg.ServerPID)
}

func (r *runner) printProgress(w io.Writer, elapsed time.Duration) {
	secs := elapsed.Seconds()
	fmt.Fprintf(w, "%5.1fs  peers %d ok %d failed  %8.0f pkt/s  loss %.3f%%  latency p50 %.2f ms p99 %.2f ms\n",
		secs, r.connected.Load(), r.failed.Load(), float64(r.rec.packets.Load())/secs, r.loss(),
		ms(r.rec.latency.quantile(0.5)), ms(r.rec.latency.quantile(0.99)))
}

// loss is the percentage of packets sent in the window that did not arrive.
func (r *runner) loss() float64 {
	got, want := r.rec.packets.Load(), r.rec.expect.Load()
	if want == 0 || got >= want {
		return 0
	}
	return 100 * float64(want-got) / float64(want)
}

func (r *runner) report(elapsed time.Duration, before, start, stop procSample) *Report {
	cfg := r.cfg
	rep := &Report{
		Target: cfg.Target, Protocol: cfg.Protocol, Shape: cfg.Shape, Publishers: r.publishers(),
		Subscribers: int(r.receivers.Load()), Rooms: 1, Bitrate: cfg.Bitrate, Duration: elapsed.Seconds(),
		PeersConnected: int(r.connected.Load()), PeersFailed: int(r.failed.Load()),
		Packets: r.rec.packets.Load(), LossPercent: r.loss(),
		LatencyP50: ms(r.rec.latency.quantile(0.50)), LatencyP95: ms(r.rec.latency.quantile(0.95)),
		LatencyP99: ms(r.rec.latency.quantile(0.99)),
	}
	if cfg.Shape == ShapeRooms {
		rep.Rooms = cfg.Rooms
	}
	rep.PacketsPerSec = float64(rep.Packets) / elapsed.Seconds()
	rep.BitrateOut = float64(r.rec.bytes.Load()) * 8 / elapsed.Seconds()
	rep.FirstPacketP50, rep.FirstPacketP99 = r.firstPacket(0.5), r.firstPacket(0.99)
	rep.FirstKeyframeP50, rep.FirstKeyframeP90 = r.firstKeyframe(0.5), r.firstKeyframe(0.9)
	if cfg.ServerPID != 0 {
		rep.Server = serverReport(cfg.ServerPID, rep.Packets, rep.Subscribers, before, start, stop)
	}
	return rep
}

func serverReport(pid int, packets uint64, receivers int, before, start, stop procSample) *ServerReport {
	cpu := (stop.cpu - start.cpu).Seconds()
	s := &ServerReport{PID: pid, CPUSeconds: cpu, PeakRSS: stop.peak, RSSBefore: before.rss, RSSDuring: stop.rss}
	if packets > 0 {
		s.CPUPer100kPackets = cpu / float64(packets) * 100_000
	}
	if cpu > 0 {
		s.PacketsPerCPUSecond = float64(packets) / cpu
	}
	if receivers > 0 {
		s.RSSPerSubscriber = (stop.rss - before.rss) / int64(receivers)
	}
	return s
}

// firstPacket is the q-quantile of the receiving peers' times to first packet, ms.
func (r *runner) firstPacket(q float64) float64 {
	r.rec.mu.Lock()
	d := slices.Clone(r.rec.firstPacket)
	r.rec.mu.Unlock()
	return quantileMS(d, q)
}

// firstKeyframe is the q-quantile of the receiving peers' times to their first video
// keyframe, ms.
func (r *runner) firstKeyframe(q float64) float64 {
	r.rec.mu.Lock()
	d := slices.Clone(r.rec.firstKeyframe)
	r.rec.mu.Unlock()
	return quantileMS(d, q)
}

// quantileMS is the q-quantile of d, which it sorts, in ms; 0 when d is empty.
func quantileMS(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return ms(d[min(len(d)-1, int(q*float64(len(d))))])
}

// close stops the media and every peer.
func (r *runner) close() {
	r.stopMedia()
	r.media.Wait()
	r.mu.Lock()
	peers := r.peers
	r.peers = nil
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(1)
		go func() { defer wg.Done(); p.close() }()
	}
	wg.Wait()
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
