//! QR codes as PNG images, for the `img` node of TOTP settings.

use kernel::{Error, Result};

/// Pixels per module, and modules of quiet zone around the code (the
/// four the QR standard asks for, so phone cameras find the edges).
const SCALE: usize = 6;
const QUIET: usize = 4;

/// A grayscale PNG of `data` as a QR code.
pub fn png(data: &str) -> Result<Vec<u8>> {
    let code = qrcode::QrCode::new(data.as_bytes())
        .map_err(|e| Error::internal(format!("QR code: {e}")))?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (index, color) in colors.iter().enumerate() {
        if *color != qrcode::Color::Dark {
            continue;
        }
        let (x, y) = (index % modules + QUIET, index / modules + QUIET);
        for row in y * SCALE..(y + 1) * SCALE {
            pixels[row * side + x * SCALE..row * side + (x + 1) * SCALE].fill(0);
        }
    }
    let side = u32::try_from(side).map_err(Error::internal)?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| Error::internal(format!("PNG: {e}")))?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| Error::internal(format!("PNG: {e}")))?;
    writer
        .finish()
        .map_err(|e| Error::internal(format!("PNG: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_a_png_with_the_quiet_zone() {
        let png = super::png("otpauth://totp/Acme:a@example.com?secret=JBSWY3DPEHPK3PXP")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap_or_else(|e| panic!("{e}"));
        let info = reader.info();
        assert_eq!(info.width, info.height);
        assert_eq!(info.width % 6, 0);
    }
}
