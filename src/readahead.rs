//! A stream read on a thread of its own while the caller consumes what is already read.
//!
//! Decompressing is half the work of reading a `Packages` index or a `.deb`'s `data.tar`; the
//! other half (parsing, matching paths, writing files) need not wait for it. Here one thread
//! reads (and so decompresses) the input ahead, chunk by chunk, while the caller's thread
//! consumes the chunks already read: the two halves run on two cores, and memory holds only the
//! few chunks in flight.

use std::io::{BufRead, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Bytes handed from the reading thread to the consumer at a time.
pub(crate) const CHUNK: usize = 256 << 10;

/// Chunks in flight between the two threads: enough that neither waits on the other for long,
/// few enough to keep a megabyte or two of memory.
const IN_FLIGHT: usize = 4;

/// Runs `consume` over what `input` gives, read on a thread of its own. `observe` sees every
/// chunk on the reading thread, in order, as long as the consumer wants more (a hash of the
/// whole stream is taken there, off the consumer's thread). An error of `input` reaches the
/// consumer as the error of its read, after every byte read before it.
pub(crate) fn read_ahead<I, O, T>(
    input: I,
    mut observe: O,
    consume: impl FnOnce(&mut Ahead) -> T,
) -> T
where
    I: Read + Send,
    O: FnMut(&[u8]) + Send,
{
    let (sender, receiver) = sync_channel::<std::io::Result<Vec<u8>>>(IN_FLIGHT);
    // Chunks the consumer is done with go back to be filled again: a fresh 256 KiB buffer per
    // chunk would cost the kernel a mapping and its page faults each time.
    let (recycle, recycled) = sync_channel::<Vec<u8>>(IN_FLIGHT + 2);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut input = input;
            loop {
                let mut chunk = recycled.try_recv().unwrap_or_default();
                chunk.resize(CHUNK, 0);
                match fill(&mut input, &mut chunk) {
                    Ok(0) => break,
                    Ok(filled) => {
                        chunk.truncate(filled);
                        observe(&chunk);
                        if sender.send(Ok(chunk)).is_err() {
                            // The consumer stopped (an error of its own): nothing more is wanted.
                            break;
                        }
                    }
                    Err(error) => {
                        let _ = sender.send(Err(error));
                        break;
                    }
                }
            }
        });
        let mut ahead = Ahead {
            receiver,
            recycle,
            current: Vec::new(),
            at: 0,
        };
        let consumed = consume(&mut ahead);
        // Dropped before the join: a reader still sending (the consumer stopped early) stops.
        drop(ahead);
        reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        consumed
    })
}

/// Reads until `buffer` is full or the stream ends; the count read.
fn fill(input: &mut dyn Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// The chunks read ahead, as one buffered stream, in the order they were read.
pub(crate) struct Ahead {
    receiver: Receiver<std::io::Result<Vec<u8>>>,
    /// Where a chunk read through goes back to the reading thread.
    recycle: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl Read for Ahead {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(buffer.len());
        buffer[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

impl BufRead for Ahead {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.at == self.current.len() {
            match self.receiver.recv() {
                Ok(chunk) => {
                    let done = std::mem::replace(&mut self.current, chunk?);
                    self.at = 0;
                    // Best effort: a full return channel just drops the buffer.
                    let _ = self.recycle.try_send(done);
                }
                // The reader is done and every chunk is taken: the end.
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.current[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.current.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gives `data`, `step` bytes a read, then fails with `error` if there is one.
    struct Source {
        data: Vec<u8>,
        at: usize,
        step: usize,
        error: Option<&'static str>,
    }

    impl Read for Source {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            if self.at == self.data.len() {
                return match self.error.take() {
                    Some(error) => Err(std::io::Error::other(error)),
                    None => Ok(0),
                };
            }
            let count = self.step.min(buffer.len()).min(self.data.len() - self.at);
            buffer[..count].copy_from_slice(&self.data[self.at..self.at + count]);
            self.at += count;
            Ok(count)
        }
    }

    fn source(len: usize, error: Option<&'static str>) -> (Vec<u8>, Source) {
        let data: Vec<u8> = (0..len).map(|at| (at * 7 % 251) as u8).collect();
        let source = Source {
            data: data.clone(),
            at: 0,
            step: 10_000,
            error,
        };
        (data, source)
    }

    #[test]
    fn every_byte_arrives_in_order_and_is_observed() {
        // Several chunks, the last one partial.
        let (data, input) = source(3 * CHUNK + 12_345, None);
        let mut seen = 0usize;
        let read = read_ahead(
            input,
            |chunk: &[u8]| seen += chunk.len(),
            |ahead| {
                let mut read = Vec::new();
                ahead.read_to_end(&mut read).unwrap();
                read
            },
        );
        assert_eq!(read, data);
        assert_eq!(seen, 3 * CHUNK + 12_345);
    }

    #[test]
    fn an_error_of_the_input_comes_after_the_bytes_before_it() {
        let (data, input) = source(CHUNK + 5, Some("the disk went away"));
        let outcome = read_ahead(
            input,
            |_: &[u8]| {},
            |ahead| {
                let mut read = Vec::new();
                let error = ahead.read_to_end(&mut read).unwrap_err();
                (read, error.to_string())
            },
        );
        // The first full chunk is delivered; the partial one is lost with the error.
        assert_eq!(outcome.0, data[..CHUNK]);
        assert_eq!(outcome.1, "the disk went away");
    }

    #[test]
    fn a_consumer_that_stops_early_stops_the_reader() {
        // Far more than the chunks in flight: the reader would block for ever if it were not
        // told the consumer is gone.
        let (data, input) = source(64 * CHUNK, None);
        let mut chunks = 0;
        let first = read_ahead(
            input,
            |_: &[u8]| chunks += 1,
            |ahead| {
                let mut first = [0u8; 100];
                ahead.read_exact(&mut first).unwrap();
                first
            },
        );
        assert_eq!(first[..], data[..100]);
        assert!(chunks <= IN_FLIGHT + 2, "{chunks} chunks read");
    }
}
