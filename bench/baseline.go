package bench

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"
)

// BaselineConfig describes a run of the yardstick relay: one source sending the
// synthetic stream of a publisher, relayed to Receivers sockets.
type BaselineConfig struct {
	Receivers    int
	Bitrate      int // video, bits per second
	AudioBitrate int
	Duration     time.Duration
}

// BaselineReport is what the relay did and what it cost.
type BaselineReport struct {
	Receivers           int     `json:"receivers"`
	Bitrate             int     `json:"bitrate_bps"`
	Duration            float64 `json:"duration_s"`
	Packets             uint64  `json:"relayed_packets"`
	CPUSeconds          float64 `json:"cpu_s"`
	CPUPer100kPackets   float64 `json:"cpu_s_per_100k_packets"`
	PacketsPerCPUSecond float64 `json:"packets_per_cpu_s"`
}

// WriteText prints r for people.
func (r *BaselineReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "baseline: UDP relay sealing with AES-128-GCM to %d receivers, video %d kbit/s\n", r.Receivers, r.Bitrate/1000)
	if r.CPUSeconds == 0 {
		fmt.Fprintf(w, "  relayed %d packets in %.1f s (the relay's CPU time is measured on Linux only)\n", r.Packets, r.Duration)
		return
	}
	fmt.Fprintf(w, "  relayed %d packets in %.1f s on %.3f CPU s: %.3f CPU s per 100k packets, %.0f packets per CPU second\n",
		r.Packets, r.Duration, r.CPUSeconds, r.CPUPer100kPackets, r.PacketsPerCPUSecond)
}

// Baseline runs the relay for cfg.Duration on loopback. The relay is one goroutine
// locked to its thread: it reads each packet from the source and, per receiver, seals
// it with that receiver's AES-128-GCM key (the RTP header as associated data, as
// SRTP's AEAD mode does) and sends it. Its packets per CPU second of that thread are
// the yardstick: what an SFU's forward path costs without anything but the
// unavoidable cipher and socket work.
func Baseline(ctx context.Context, cfg BaselineConfig) (*BaselineReport, error) {
	if cfg.Receivers < 1 || cfg.Receivers > maxPeers {
		return nil, fmt.Errorf("receivers %d: want 1 to %d", cfg.Receivers, maxPeers)
	}
	if cfg.Bitrate == 0 {
		cfg.Bitrate = 1_000_000
	}
	if cfg.AudioBitrate == 0 {
		cfg.AudioBitrate = 32_000
	}
	if cfg.Duration <= 0 || cfg.Duration > time.Hour {
		return nil, errors.New("duration: want up to an hour")
	}
	relay, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	sinks, addrs, err := openSinks(cfg.Receivers)
	if err != nil {
		relay.Close()
		return nil, err
	}
	var wg sync.WaitGroup
	for _, s := range sinks {
		wg.Add(1)
		go func() { defer wg.Done(); discard(s) }()
	}
	srcCtx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	wg.Add(1)
	go func() {
		defer wg.Done()
		source(srcCtx, relay.LocalAddr().(*net.UDPAddr).AddrPort(), cfg.Bitrate, cfg.AudioBitrate)
	}()
	result := make(chan relayResult, 1)
	go func() { result <- relayLoop(relay, addrs) }()
	<-srcCtx.Done()
	relay.Close()
	res := <-result
	for _, s := range sinks {
		s.Close()
	}
	wg.Wait()
	if res.err != nil {
		return nil, res.err
	}
	rep := &BaselineReport{Receivers: cfg.Receivers, Bitrate: cfg.Bitrate, Duration: res.elapsed.Seconds(),
		Packets: res.packets, CPUSeconds: res.cpu.Seconds()}
	if rep.Packets > 0 {
		rep.CPUPer100kPackets = rep.CPUSeconds / float64(rep.Packets) * 100_000
	}
	if rep.CPUSeconds > 0 {
		rep.PacketsPerCPUSecond = float64(rep.Packets) / rep.CPUSeconds
	}
	return rep, nil
}

func openSinks(n int) ([]*net.UDPConn, []netip.AddrPort, error) {
	var sinks []*net.UDPConn
	var addrs []netip.AddrPort
	for range n {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			for _, s := range sinks {
				s.Close()
			}
			return nil, nil, err
		}
		sinks = append(sinks, c)
		addrs = append(addrs, c.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	return sinks, addrs, nil
}

func discard(c *net.UDPConn) {
	buf := make([]byte, 2048)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

// source sends what one synthetic publisher sends, with 12-byte RTP-like headers,
// until ctx ends.
func source(ctx context.Context, to netip.AddrPort, videoBitrate, audioBitrate int) {
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		return
	}
	defer c.Close()
	video := time.NewTicker(time.Second / 30)
	audio := time.NewTicker(20 * time.Millisecond)
	defer video.Stop()
	defer audio.Stop()
	// Frames split as client.SendSynthetic splits them.
	frame := videoBitrate / 8 / 30
	perFrame := max(1, (frame+1199)/1200)
	vbuf := make([]byte, 12+frame/perFrame)
	abuf := make([]byte, 12+min(audioBitrate/8/50, 1200))
	for {
		select {
		case <-ctx.Done():
			return
		case <-video.C:
			for range perFrame {
				_, _ = c.Write(vbuf)
			}
		case <-audio.C:
			_, _ = c.Write(abuf)
		}
	}
}

type relayResult struct {
	packets uint64
	cpu     time.Duration
	elapsed time.Duration
	err     error
}

// relayLoop relays until conn is closed; it measures its own thread's CPU time from
// the first packet on.
func relayLoop(conn *net.UDPConn, to []netip.AddrPort) relayResult {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	aeads := make([]cipher.AEAD, len(to))
	for i := range aeads {
		key := make([]byte, 16)
		_, _ = rand.Read(key)
		block, err := aes.NewCipher(key)
		if err != nil {
			return relayResult{err: err}
		}
		if aeads[i], err = cipher.NewGCM(block); err != nil {
			return relayResult{err: err}
		}
	}
	in := make([]byte, 2048)
	out := make([]byte, 2048+16)
	nonce := make([]byte, 12)
	var res relayResult
	var cpu0 time.Duration
	var began time.Time
	for seq := uint64(0); ; seq++ {
		n, err := conn.Read(in)
		if err != nil {
			break
		}
		if n < 12 {
			continue
		}
		if began.IsZero() {
			began, cpu0 = time.Now(), threadCPU()
		}
		binary.BigEndian.PutUint64(nonce[4:], seq)
		for i, a := range aeads {
			copy(out, in[:12])
			sealed := a.Seal(out[:12], nonce, in[12:n], in[:12])
			if _, err := conn.WriteToUDPAddrPort(sealed, to[i]); err == nil {
				res.packets++
			}
		}
	}
	if !began.IsZero() {
		res.cpu, res.elapsed = threadCPU()-cpu0, time.Since(began)
	}
	return res
}
