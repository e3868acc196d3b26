//! [`Fanout`]: several renderers on one event stream (the console or the JSON lines on stdout,
//! plus the report collector), so every output is built from the same events.

use super::{Event, Renderer};

/// Sends each event to every renderer, in order.
pub struct Fanout<'a> {
    parts: Vec<&'a mut dyn Renderer>,
}

impl<'a> Fanout<'a> {
    /// A fanout to `parts`.
    pub fn new(parts: Vec<&'a mut dyn Renderer>) -> Self {
        Fanout { parts }
    }
}

impl Renderer for Fanout<'_> {
    fn event(&mut self, event: &Event) {
        for p in &mut self.parts {
            p.event(event);
        }
    }

    fn finish(&mut self) {
        for p in &mut self.parts {
            p.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Count(usize, usize);
    impl Renderer for Count {
        fn event(&mut self, _: &Event) {
            self.0 += 1;
        }
        fn finish(&mut self) {
            self.1 += 1;
        }
    }

    #[test]
    fn every_renderer_sees_every_event_and_the_finish() {
        let (mut a, mut b) = (Count::default(), Count::default());
        {
            let mut f = Fanout::new(vec![&mut a, &mut b]);
            let w = Event::Warning {
                message: "x".into(),
            };
            f.event(&w);
            f.event(&w);
            f.finish();
        }
        assert_eq!((a.0, a.1, b.0, b.1), (2, 1, 2, 1));
    }
}
