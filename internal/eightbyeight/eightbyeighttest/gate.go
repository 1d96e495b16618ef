package eightbyeighttest

import "sync"

// Gate holds every voice call and SMS the fake receives until Release,
// after announcing it on Arrived: a slow 8x8 that already has the request
// (the SIGTERM drain tests).
type Gate struct {
	Arrived chan struct{} // one value per request held
	release chan struct{}
	once    sync.Once
}

// Hold makes the fake hold every send from now on, until the gate's
// Release or Close.
func (s *Server) Hold() *Gate {
	g := &Gate{Arrived: make(chan struct{}, 1024), release: make(chan struct{})}
	s.mu.Lock()
	s.gate = g
	s.mu.Unlock()
	return g
}

// Release lets every held request, and every later one, through.
func (g *Gate) Release() { g.once.Do(func() { close(g.release) }) }

// hold waits for the gate, if there is one, when k is a send.
func (s *Server) hold(k Kind) {
	s.mu.Lock()
	g := s.gate
	s.mu.Unlock()
	if g == nil || (k != Voice && k != SMS) {
		return
	}
	g.Arrived <- struct{}{}
	<-g.release
}
