//! The recovery key's QR code alone, full screen (Tab on the recovery page): at 80×24 — every
//! Linux console — in both themes. The rendered cells are read back into modules and compared with
//! the code the app encodes, module by module, and decoded back to the key with a QR decoder.

mod common;

use common::*;
use imprint_screens::Ui;
use imprint_screens::flow::Flow;
use imprint_screens::installer::{Installer, Page};
use imprint_screens::ratatui::Terminal;
use imprint_screens::ratatui::backend::TestBackend;
use imprint_screens::ratatui::buffer::Buffer;
use imprint_screens::ratatui::crossterm::event::KeyCode;
use imprint_screens::ratatui::style::Color;

fn qr_full(ui: Ui) -> Installer {
    let mut flow = installer(ui, facts());
    walk_to(&mut flow, Page::RecoveryKey);
    key(&mut flow, KeyCode::Tab);
    flow
}

fn buffer(flow: &Installer, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(|frame| flow.draw(frame)).expect("draw");
    terminal.backend().buffer().clone()
}

/// Which cells are ink: the code's characters, and whether a cell holds two module rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drawn {
    HalfBlocks,
    Hashes,
}

/// The modules drawn on the screen, read back from the cells: the box of the code's ink (the
/// quiet zone is ink, so it is the code with its quiet zone), light where there is ink. Returns
/// the form, the quiet zone seen, and the modules inside it (`true` dark).
fn read_back(buf: &Buffer) -> (Drawn, usize, Vec<Vec<bool>>) {
    let area = buf.area;
    let sym = |x: u16, y: u16| buf[(x, y)].symbol().to_owned();
    let is_block = |s: &str| matches!(s, "█" | "▀" | "▄");
    let blocks = (0..area.height).any(|y| (0..area.width).any(|x| is_block(&sym(x, y))));
    let drawn = if blocks { Drawn::HalfBlocks } else { Drawn::Hashes };
    let ink = |s: &str| match drawn {
        Drawn::HalfBlocks => is_block(s),
        Drawn::Hashes => s == "#",
    };
    let cells: Vec<(u16, u16)> =
        (0..area.height).flat_map(|y| (0..area.width).map(move |x| (x, y))).filter(|&(x, y)| ink(&sym(x, y))).collect();
    assert!(!cells.is_empty(), "no code on the screen");
    let (x0, x1) = (cells.iter().map(|c| c.0).min().unwrap(), cells.iter().map(|c| c.0).max().unwrap());
    let (y0, y1) = (cells.iter().map(|c| c.1).min().unwrap(), cells.iter().map(|c| c.1).max().unwrap());
    // every cell of the code is drawn white on black, whatever the terminal's colours
    for y in y0..=y1 {
        for x in x0..=x1 {
            let cell = &buf[(x, y)];
            assert_eq!((cell.fg, cell.bg), (Color::White, Color::Black), "cell {x},{y}");
        }
    }
    // light[r][c] over the box, in modules
    let light: Vec<Vec<bool>> = match drawn {
        Drawn::HalfBlocks => (y0..=y1)
            .flat_map(|y| {
                let row = |top: bool| {
                    (x0..=x1)
                        .map(|x| match sym(x, y).as_str() {
                            "█" => true,
                            "▀" => top,
                            "▄" => !top,
                            " " => false,
                            other => panic!("cell {x},{y} inside the code holds {other:?}"),
                        })
                        .collect::<Vec<bool>>()
                };
                [row(true), row(false)]
            })
            .collect(),
        Drawn::Hashes => (y0..=y1)
            .map(|y| {
                (x0..=x1)
                    .step_by(2)
                    .map(|x| match (sym(x, y).as_str(), sym(x + 1, y).as_str()) {
                        ("#", "#") => true,
                        (" ", " ") => false,
                        other => panic!("cells {x},{y} inside the code hold {other:?}"),
                    })
                    .collect()
            })
            .collect(),
    };
    let width = light[0].len();
    let side = qr_modules().len();
    assert!(width >= side && (width - side) % 2 == 0, "the code is {width} modules wide, the key's code {side}");
    let quiet = (width - side) / 2;
    // the quiet zone is light all round (the last half row below an odd side is not the code's)
    let total = side + 2 * quiet;
    for (r, row) in light.iter().enumerate().take(total) {
        for (c, &l) in row.iter().enumerate() {
            let in_zone = r < quiet || c < quiet || r >= quiet + side || c >= quiet + side;
            if in_zone {
                assert!(l, "the quiet zone has a dark module at row {r}, column {c}");
            }
        }
    }
    let modules = (0..side).map(|r| (0..side).map(|c| !light[r + quiet][c + quiet]).collect()).collect();
    (drawn, quiet, modules)
}

/// The key as a QR decoder reads it from the modules, drawn as a picture (4 pixels a module,
/// dark modules black, a white quiet zone of 4).
fn decode(modules: &[Vec<bool>]) -> String {
    let (scale, quiet) = (4usize, 4usize);
    let side = modules.len() + 2 * quiet;
    let px = side * scale;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(px, px, |x, y| {
        let (r, c) = ((y / scale) as isize - quiet as isize, (x / scale) as isize - quiet as isize);
        let dark = r >= 0 && c >= 0 && modules.get(r as usize).and_then(|row| row.get(c as usize)).copied().unwrap_or(false);
        if dark { 0 } else { 255 }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "the decoder finds {} codes", grids.len());
    grids[0].decode().expect("the code decodes").1
}

#[test]
fn the_full_screen_code_at_80x24_reads_back_module_by_module_and_decodes_to_the_key() {
    let expected = qr_modules();
    for (variant, lang, ascii, width, height) in VARIANTS {
        let flow = qr_full(ui(lang, ascii));
        let buf = buffer(&flow, width, height);
        let (drawn, quiet, modules) = read_back(&buf);
        if height < 37 {
            assert_eq!(drawn, Drawn::HalfBlocks, "{variant}: only half blocks fit 24 lines");
        }
        if (width, height) == (80, 24) {
            assert_eq!(quiet, 4, "{variant}: 80×24 has room for the standard quiet zone");
        }
        assert!(quiet >= 2, "{variant}: quiet zone of {quiet}");
        for (r, (seen, want)) in modules.iter().zip(&expected).enumerate() {
            assert_eq!(seen, want, "{variant}: module row {r} is drawn wrong");
        }
        assert_eq!(decode(&modules), KEY, "{variant}");
    }
}

#[test]
fn a_module_drawn_wrong_is_caught() {
    let flow = qr_full(ui(imprint_screens::Lang::En, false));
    let mut buf = buffer(&flow, 80, 24);
    let (_, quiet, good) = read_back(&buf);
    assert_eq!(good, qr_modules());
    // the cell of modules (row 10, column 10) and (row 11, column 10): swap its halves
    let (x0, y0) =
        (0..80u16).flat_map(|x| (0..24u16).map(move |y| (x, y))).find(|&(x, y)| matches!(buf[(x, y)].symbol(), "█" | "▀" | "▄")).unwrap();
    let (x, y) = (x0 + (quiet + 10) as u16, y0 + ((quiet + 10) / 2) as u16);
    let swapped = match buf[(x, y)].symbol() {
        "▀" => "▄",
        "▄" => "▀",
        "█" => " ",
        _ => "█",
    };
    buf[(x, y)].set_symbol(swapped);
    let (_, _, bad) = read_back(&buf);
    assert_ne!(bad, qr_modules(), "a wrong module went unnoticed");
}

#[test]
fn any_key_returns_to_the_recovery_page() {
    let mut flow = qr_full(ui(imprint_screens::Lang::En, false));
    let shown = render(&flow, 80, 24);
    assert!(shown.contains("Press any key"), "{shown}");
    assert!(!shown.contains("Group 3"), "the page is not hidden:\n{shown}");
    key(&mut flow, KeyCode::Char('x'));
    let page = render(&flow, 80, 24);
    assert!(page.contains("Group 3"), "{page}");
    // the key that left the code is not typed into the field
    assert!(!page.contains("[x"), "{page}");
    key(&mut flow, KeyCode::Esc);
    assert_eq!(flow.page(), Page::Encryption);
}

#[test]
fn snapshots_at_80x24() {
    for (variant, lang, ascii, width, height) in VARIANTS.into_iter().filter(|v| (v.3, v.4) == (80, 24)) {
        let flow = qr_full(ui(lang, ascii));
        let screen = render(&flow, width, height);
        assert!(!screen.contains(imprint_screens::i18n::MISSING_MARKER), "{variant}: a message is missing:\n{screen}");
        if ascii {
            // ASCII everywhere but the code's half blocks, which every Linux console font has
            let bad: Vec<char> = screen.chars().filter(|c| !c.is_ascii() && !"█▀▄".contains(*c)).collect();
            assert!(bad.is_empty(), "{variant}: non-ASCII {bad:?}:\n{screen}");
        }
        insta::assert_snapshot!(format!("5-recovery-qr-full-{variant}"), screen);
    }
}

#[test]
fn a_screen_too_small_for_the_code_says_so() {
    let flow = qr_full(ui(imprint_screens::Lang::En, false));
    let shown = render(&flow, 40, 12);
    assert!(shown.contains("too small for the QR"), "{shown}");
    assert!(!shown.contains(['█', '▀', '▄']), "a cut-off code was drawn:\n{shown}");
}
