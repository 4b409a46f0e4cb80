/// A terminal cell's size in pixels, as the terminal reports it.
public struct CellSize: Sendable, Equatable {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// What most terminals use at their default font size, for when the terminal does not say:
    /// only the aspect ratio (1:2) matters for character-cell art.
    public static let typical = CellSize(width: 8, height: 16)
}

/// Where a picture goes: a rectangle of whole cells, in cell coordinates from the top-left (0, 0).
public struct PictureLayout: Sendable, Equatable {
    public var column: Int
    public var row: Int
    public var columns: Int
    public var rows: Int

    public init(column: Int, row: Int, columns: Int, rows: Int) {
        self.column = column
        self.row = row
        self.columns = columns
        self.rows = rows
    }

    /// The largest rectangle of cells inside an area of `columns` × `rows` that shows a
    /// `width` × `height` picture with its aspect ratio kept (to the nearest cell), centred.
    /// With `enlarge` false the picture is never drawn larger than its own pixels (a 64² picture
    /// stays 64² on a large terminal); with true it fills the area.
    public static func fitting(width: Int, height: Int, in area: (columns: Int, rows: Int),
                               cell: CellSize, enlarge: Bool) -> PictureLayout {
        guard width > 0, height > 0, area.columns > 0, area.rows > 0, cell.width > 0, cell.height > 0 else {
            return PictureLayout(column: 0, row: 0, columns: 0, rows: 0)
        }
        let areaWidth = Double(area.columns * cell.width), areaHeight = Double(area.rows * cell.height)
        var scale = min(areaWidth / Double(width), areaHeight / Double(height))
        if !enlarge { scale = min(scale, 1) }
        let columns = min(area.columns, max(1, Int((Double(width) * scale / Double(cell.width)).rounded())))
        let rows = min(area.rows, max(1, Int((Double(height) * scale / Double(cell.height)).rounded())))
        return PictureLayout(column: (area.columns - columns) / 2, row: (area.rows - rows) / 2,
                             columns: columns, rows: rows)
    }
}
